"""The grants of deploy/snowflake/setup.sql make the backfill rules hold for people who bypass
the `finsight` command: read from the file itself, statement by statement, in order.

What only a Snowflake account shows (that the grants are accepted as written, that
CURRENT_USER() in an owner's-rights procedure is the caller) is listed in docs/production.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import dagster as dg
import pytest
from dagster_aws.s3 import S3Resource

from finsight_assets.defs.resources.prod import (
    S3LakeResource,
    SnowflakeWarehouseResource,
    snowflake_warehouse,
)
from finsight_assets.lib.engines.snowflake_warehouse import SnowflakeWarehouse
from finsight_assets.lib.settings import REPOSITORY_ROOT
from finsight_assets_tests.fakesnowflake import fake_snowflake
from finsight_assets_tests.prod.test_snowflake_lanes import lane_resource

SETUP = REPOSITORY_ROOT / "deploy" / "snowflake" / "setup.sql"
STORE = re.compile(r"\bFINSIGHT\.AUDIT\.BACKFILL_\w+")
STORE_TABLES = {f"FINSIGHT.AUDIT.BACKFILL_{t}" for t in ("MANIFESTS", "APPROVALS", "EVENTS")}
APPROVALS = "FINSIGHT.AUDIT.BACKFILL_APPROVALS"
# The roles that may own or write what a lane's runs write.
LANES = {"FINSIGHT_DAILY", "FINSIGHT_BACKFILL"}


def statements() -> list[str]:
    """The file's statements, comments dropped, whitespace collapsed; a $$ body kept whole."""
    text = SETUP.read_text()
    parts = re.split(r"(\$\$.*?\$\$)", text, flags=re.DOTALL)
    cleaned = "".join(p if p.startswith("$$") else re.sub(r"--[^\n]*", "", p) for p in parts)
    found, current, body = [], [], False
    for piece in re.split(r"(\$\$|;)", cleaned):
        if piece == "$$":
            body = not body
        if piece == ";" and not body:
            found.append(" ".join("".join(current).split()))
            current = []
        else:
            current.append(piece)
    return [s for s in found if s]


@dataclass(frozen=True)
class Grant:
    at: int
    privileges: frozenset[str]
    on: str
    role: str


def grants() -> list[Grant]:
    found = []
    for at, sql in enumerate(statements()):
        match = re.fullmatch(r"GRANT (.+?) ON (.+?) TO ROLE (\w+)( .*)?", sql)
        if match and not sql.startswith("GRANT ROLE "):
            privileges = frozenset(p.strip() for p in match.group(1).split(","))
            found.append(Grant(at, privileges, match.group(2), match.group(3)))
    return found


def role_grants() -> dict[str, set[str]]:
    """Per role or user (`USER NAME`), the roles granted to it."""
    granted: dict[str, set[str]] = {}
    for sql in statements():
        match = re.fullmatch(r"GRANT ROLE (\w+) TO (ROLE|USER) (\w+)", sql)
        if match:
            holder = match.group(3) if match.group(2) == "ROLE" else f"USER {match.group(3)}"
            granted.setdefault(holder, set()).add(match.group(1))
    return granted


def inherited(role: str) -> set[str]:
    granted, seen, todo = role_grants(), set(), [role]
    while todo:
        for parent in granted.get(todo.pop(), set()) - seen:
            seen.add(parent)
            todo.append(parent)
    return seen


def holders(role: str) -> set[str]:
    return {holder for holder, roles in role_grants().items() if role in roles}


def test_the_operator_does_not_inherit_the_owner_role():
    assert "FINSIGHT_PIPELINE" not in inherited("FINSIGHT_OPERATOR")
    assert holders("FINSIGHT_PIPELINE") == LANES
    assert not any(g.role == "FINSIGHT_OPERATOR" and "OWNERSHIP" in g.privileges for g in grants())
    for owner in ("FINSIGHT_STORE_OWNER", "FINSIGHT_APPROVAL_STAMP"):
        assert holders(owner) == {"SYSADMIN"}, owner
        assert owner not in inherited("FINSIGHT_OPERATOR") | inherited("FINSIGHT_BACKFILL")


def store_grants() -> list[Grant]:
    """Grants that reach the operations store's tables: named, or all of the audit schema's."""
    return [
        g
        for g in grants()
        if STORE.search(g.on) or re.fullmatch(r"ALL TABLES IN SCHEMA FINSIGHT\.AUDIT", g.on)
    ]


def test_the_operations_store_is_insert_only_for_every_role_but_its_owner():
    reaching = store_grants()
    assert reaching, "no grant on the operations store: the test would prove nothing"
    for grant in reaching:
        if "OWNERSHIP" in grant.privileges:
            assert grant.role == "FINSIGHT_STORE_OWNER", grant
            continue
        assert grant.privileges <= {"SELECT", "INSERT", "USAGE"}, grant
    owned = {g.on.removeprefix("TABLE ") for g in reaching if "OWNERSHIP" in g.privileges}
    assert owned >= STORE_TABLES


def test_future_grants_on_the_audit_schema_come_after_the_store_exists():
    sql = statements()
    created = max(
        at
        for at, s in enumerate(sql)
        if s.startswith("CREATE TABLE IF NOT EXISTS FINSIGHT.AUDIT.BACKFILL_")
    )
    future = [g for g in grants() if g.on == "FUTURE TABLES IN SCHEMA FINSIGHT.AUDIT"]
    assert future and all(g.at > created for g in future)
    assert all("UPDATE" not in g.privileges for g in future)


def test_approvals_are_inserted_only_by_the_procedure_that_stamps_current_user():
    inserting = {
        g.role for g in store_grants() if g.on.endswith(APPROVALS) and "INSERT" in g.privileges
    }
    assert inserting == {"FINSIGHT_APPROVAL_STAMP"}
    sql = statements()
    [procedure] = [s for s in sql if s.startswith("CREATE OR REPLACE PROCEDURE FINSIGHT.AUDIT.")]
    assert "EXECUTE AS OWNER" in procedure
    created_at = sql.index(procedure)
    role_before = [s for s in sql[:created_at] if s.startswith("USE ROLE ")][-1]
    assert role_before == "USE ROLE FINSIGHT_APPROVAL_STAMP"
    insert = re.search(
        rf"INSERT INTO {APPROVALS} \(([^)]*)\) SELECT (.*?);", procedure, flags=re.DOTALL
    )
    assert insert
    columns = [c.strip() for c in insert.group(1).split(",")]
    values = [v.strip() for v in re.split(r",(?![^(]*\))", insert.group(2))]
    stamped = dict(zip(columns, values, strict=True))
    assert stamped["approver"] == "CURRENT_USER()"
    assert stamped["approved_at"] == "CURRENT_TIMESTAMP()"
    # The caller names only the manifest and the evidence digest.
    signature = re.search(r"RECORD_BACKFILL_APPROVAL\(([^)]*)\)", procedure)
    assert signature and signature.group(1) == "MANIFEST_ID VARCHAR, DIGEST VARCHAR"
    usage = [g for g in grants() if "RECORD_BACKFILL_APPROVAL" in g.on]
    assert {g.role for g in usage} == {"FINSIGHT_STORE_WRITER"}
    assert "FINSIGHT_STORE_WRITER" in inherited("FINSIGHT_OPERATOR")


@pytest.mark.parametrize("schema", ["VERSIONS", "SILVER", "GOLD", "AUDIT"])
def test_no_role_updates_rows_and_only_the_lanes_write_version_rows(schema):
    writers = [
        g
        for g in grants()
        if g.on
        in (f"FUTURE TABLES IN SCHEMA FINSIGHT.{schema}", f"ALL TABLES IN SCHEMA FINSIGHT.{schema}")
    ]
    assert writers, schema
    for grant in writers:
        if "OWNERSHIP" in grant.privileges:
            assert grant.role == "FINSIGHT_PIPELINE", grant
            continue
        assert "UPDATE" not in grant.privileges, grant
        if schema == "VERSIONS":
            assert grant.privileges <= {"SELECT", "DELETE"}, grant


def test_an_engineers_connection_creates_nothing(tmp_path, monkeypatch):
    """FINSIGHT_OPERATOR may create nothing: its connections skip the schema statements the
    lanes' connections run."""
    lake = S3LakeResource(s3=S3Resource(region_name="us-east-1"), bucket="lake", prefix="fs")
    assert not snowflake_warehouse(lake, as_operator=True).creates_schema
    assert snowflake_warehouse(lake).creates_schema
    sent: list[str] = []
    execute = SnowflakeWarehouse.execute
    monkeypatch.setattr(
        SnowflakeWarehouse,
        "execute",
        lambda self, sql, p=(): sent.append(sql) or execute(self, sql, p),
    )
    operator = SnowflakeWarehouseResource(
        daily=lane_resource("daily"), backfill=lane_resource("backfill"), lake=lake,
        creates_schema=False,
    )  # fmt: skip
    with fake_snowflake(tmp_path, monkeypatch), dg.build_resources({"warehouse": operator}) as r:
        sent.clear()
        with r.warehouse.connect() as warehouse:
            assert warehouse.fetchall("SELECT 1") == [(1,)]
    assert not [s for s in sent if s.lstrip().upper().startswith("CREATE")], sent
