"""The Dagster UI in a real browser: a webserver over a FinSight home, and headless Chromium.

Chromium is Debian's (`make test` installs it); Playwright drives it, never downloading one.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from playwright.sync_api import Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from finsight_assets.dev.stack import BIN, free_port
from finsight_assets.lib.settings import REPOSITORY_ROOT

CHROMIUM = "/usr/bin/chromium"
STATUS_COUNT = re.compile(
    r"(Execution Failed|Failed|In Progress|Missing|Skipped|Passed)\s*\((\d+)\)"
)


@contextmanager
def webserver(home: Path, start_date: str) -> Iterator[str]:
    """A Dagster webserver over `home`'s instance; its URL."""
    url = f"http://127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "FINSIGHT_HOME": str(home),
        "FINSIGHT_START_DATE": start_date,
        "DAGSTER_HOME": str(home / "dagster"),
    }
    port = url.rsplit(":", 1)[1]
    command = [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", port]
    command += ["-w", str(REPOSITORY_ROOT / "workspace.yaml")]
    with open(home / "webserver.log", "w") as log:
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPOSITORY_ROOT
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{url}/server_info", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"the webserver did not start: {home / 'webserver.log'}")
            time.sleep(1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def browser_page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1000})
        finally:
            browser.close()


def snapshot(page: Page, url: str | None, name: str) -> None:
    """Open `url` (or stay on the page) and, when FINSIGHT_UI_SCREENSHOTS names a folder, save
    what the UI shows there as `name`.png (what a closing note describes is what a browser
    showed)."""
    folder = os.environ.get("FINSIGHT_UI_SCREENSHOTS")
    if not folder:
        return
    if url is not None:
        page.goto(url)
    page.wait_for_timeout(4000)
    _dismiss_newsletter(page)
    Path(folder).mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def partition_page(url: str, asset: str, day: str) -> str:
    """The UI page of one partition of `asset` (its latest event, metadata and checks)."""
    return f"{url}/assets/{asset}?view=partitions&partition={day}"


def _dismiss_newsletter(page: Page) -> None:
    skip = page.get_by_text("Skip", exact=True)
    if skip.count():
        try:
            skip.first.click(timeout=3_000)
        except PlaywrightTimeout:
            page.keyboard.press("Escape")


def click_past_popups(page: Page, target, attempts: int = 6) -> None:
    """Click `target`; a popup the UI opens on its own (the newsletter offer) is dismissed and
    the click tried again."""
    for _ in range(attempts - 1):
        try:
            target.click(timeout=5_000)
            return
        except PlaywrightTimeout:
            _dismiss_newsletter(page)
            page.keyboard.press("Escape")
    target.click()


def check_partition_statuses(page: Page, url: str, asset: str, check: str) -> dict[str, int]:
    """The counts the asset's Checks tab shows in `check`'s Partitions view (Passed, Failed...)."""
    page.goto(f"{url}/assets/{asset}?view=checks")
    page.get_by_text(check, exact=True).first.wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    _dismiss_newsletter(page)
    click_past_popups(page, page.get_by_text(check, exact=True).first)
    page.get_by_text("Partitions", exact=True).last.click()
    page.get_by_text(re.compile(r"Passed \(\d+\)")).first.wait_for(timeout=60_000)
    return {name: int(count) for name, count in STATUS_COUNT.findall(page.inner_text("body"))}


CREATED_BACKFILL = re.compile(r"Created backfill (\w+)")


def launch_backfill_from_ui(page: Page, url: str, asset: str, first: str, last: str) -> str:
    """Launch a backfill of `asset`'s partitions `first`..`last` through the asset page's
    Materialize dialog, as a person would; the Dagster backfill's id."""
    page.goto(f"{url}/assets/{asset}")
    materialize = page.get_by_role("button", name="Materialize").first
    materialize.wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    dialog = _materialize_dialog(page, materialize)
    # The launcher shows the last 90 days unless asked for all; the banner renders late, and
    # a range typed before the partitions load is dropped: type it until the dialog counts it.
    selected = dialog.get_by_text(re.compile(r"^[1-9]\d* partitions?$"))
    for _ in range(5):
        _dismiss_newsletter(page)
        show_all = dialog.get_by_text("Show all partitions")
        if show_all.count():
            click_past_popups(page, show_all)
        field = dialog.locator("input[type=text]").first
        field.fill(f"[{first}...{last}]")
        field.press("Enter")
        try:
            selected.first.wait_for(timeout=5_000)
            break
        except PlaywrightTimeout:
            # "Could not find partitions for provided range": the range was outside the view.
            ok = page.get_by_role("button", name="OK", exact=True)
            if ok.count():
                ok.first.click()
            page.wait_for_timeout(2_000)
    click_past_popups(page, dialog.get_by_role("button", name="Launch backfill"))
    page.get_by_text(CREATED_BACKFILL).first.wait_for(timeout=60_000)
    found = CREATED_BACKFILL.search(page.inner_text("body"))
    assert found, "the UI did not say which backfill it created"
    return found.group(1)


def _materialize_dialog(page: Page, materialize, attempts: int = 3):
    """The launcher dialog, open at its partition selection. A click the UI swallowed (a popup
    opening at that moment) or a dialog still loading under load is closed and tried again, as
    a person would; failing that, the error says what the page showed."""
    dialog = page.locator(".dagster-dialog").filter(has_text="Launch runs to materialize")
    shown = ""
    for _ in range(attempts):
        _dismiss_newsletter(page)
        click_past_popups(page, materialize)
        try:
            dialog.get_by_text("Partition selection").wait_for(timeout=30_000)
            return dialog
        except PlaywrightTimeout:
            shown = " ".join(page.inner_text("body").split())[:1500]
            page.keyboard.press("Escape")
            page.wait_for_timeout(2_000)
    raise AssertionError(f"the Materialize dialog showed no partition selection; the page: {shown}")


def cancel_backfill_in_ui(page: Page, url: str, backfill_id: str) -> None:
    """Cancel a backfill from its page's menu, confirming in the dialog."""
    page.goto(f"{url}/runs/b/{backfill_id}")
    page.get_by_text("Partition selection").wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    _dismiss_newsletter(page)
    click_past_popups(page, page.get_by_role("button").last)
    page.get_by_role("menuitem", name="Cancel backfill").click()
    page.locator(".dagster-dialog").get_by_role("button", name="Cancel backfill").click()
    page.get_by_text(re.compile("Canceling|Canceled")).first.wait_for(timeout=60_000)


def evidence_in_ui(page: Page, url: str, manifest_id: str) -> tuple[str, int]:
    """The backfill evidence report the UI shows for a manifest (its partition of
    operations/backfill_evidence): the Markdown's text, and how many inline PNG charts."""
    page.goto(f"{url}/assets/operations/backfill_evidence?view=partitions&partition={manifest_id}")
    show = page.get_by_text("[Show Markdown]").first
    show.wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    _dismiss_newsletter(page)
    click_past_popups(page, show)
    report = page.locator(".dagster-dialog").filter(has_text=f"Backfill {manifest_id}")
    report.get_by_text(f"Backfill {manifest_id}").first.wait_for(timeout=30_000)
    charts = report.locator("img[src^='data:image/png']")
    charts.first.wait_for(timeout=30_000)
    return report.inner_text(), charts.count()
