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


def _dismiss_newsletter(page: Page) -> None:
    skip = page.get_by_text("Skip", exact=True)
    if skip.count():
        skip.first.click()


def check_partition_statuses(page: Page, url: str, asset: str, check: str) -> dict[str, int]:
    """The counts the asset's Checks tab shows in `check`'s Partitions view (Passed, Failed...)."""
    page.goto(f"{url}/assets/{asset}?view=checks")
    page.get_by_text(check, exact=True).first.wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    _dismiss_newsletter(page)
    page.get_by_text(check, exact=True).first.click()
    page.get_by_text("Partitions", exact=True).last.click()
    page.get_by_text(re.compile(r"Passed \(\d+\)")).first.wait_for(timeout=60_000)
    return {name: int(count) for name, count in STATUS_COUNT.findall(page.inner_text("body"))}
