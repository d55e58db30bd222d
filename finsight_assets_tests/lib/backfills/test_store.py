"""The operations store in the warehouse: manifests written once under their digest, approvals
by person and digest, events in order; on DuckDB and on the Snowflake flavour (fakesnow)."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import snowflake.connector

from finsight_assets.lib.backfills.identity import NamedIdentity, SessionIdentity
from finsight_assets.lib.backfills.manifests import ManifestError
from finsight_assets.lib.backfills.store import (
    APPROVALS,
    MANIFESTS,
    RECORD_APPROVAL,
    ManifestStore,
    canonical_json,
    digest_of,
)
from finsight_assets.lib.engines.duckdb_warehouse import duckdb_connector
from finsight_assets.lib.engines.snowflake_warehouse import SnowflakeWarehouse
from finsight_assets_tests.fakesnowflake import STAGE, connect_args, fake_snowflake
from finsight_assets_tests.lib.backfills.test_report import MANIFEST

AT = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
# What an approver reviewed: the digest of a backfill's held evidence (`approval.py`).
EVIDENCE = "sha256:" + "e" * 64


@pytest.fixture
def store(connect) -> ManifestStore:
    store = ManifestStore(connect)
    store.create(MANIFEST)
    return store


@pytest.fixture
def named_store(tmp_path) -> ManifestStore:
    """The store of the embedded default, where people name themselves (on Snowflake the
    approver is the session's user: `test_snowflake_stamps_the_approver_*`)."""
    store = ManifestStore(duckdb_connector(tmp_path / "named.duckdb"))
    store.create(MANIFEST)
    return store


def test_a_manifest_is_written_once_and_read_back_exactly(store, connect):
    assert store.get(MANIFEST.id) == MANIFEST
    assert store.digest(MANIFEST.id) == digest_of(canonical_json(MANIFEST.to_json()))
    with pytest.raises(ManifestError, match="already holds"):
        store.create(replace(MANIFEST, reason="something else"))
    assert store.get(MANIFEST.id) == MANIFEST
    assert ManifestStore(connect).list() == [MANIFEST]


def test_an_edited_manifest_is_refused(store, connect, caplog):
    with connect() as warehouse:
        warehouse.execute(
            f"UPDATE {MANIFESTS} SET body = REPLACE(body, 'dana.ops', 'mallory') "
            "WHERE manifest_id = ?",
            [MANIFEST.id],
        )
    with pytest.raises(ManifestError, match="changed after it was written"):
        store.get(MANIFEST.id)
    with caplog.at_level(logging.WARNING):
        assert store.list() == []
    assert "changed after it was written" in caplog.text


def test_a_forged_copy_under_the_same_id_is_refused(store, connect):
    forged = canonical_json(replace(MANIFEST, approvals_required=0).to_json())
    with connect() as warehouse:
        warehouse.execute(
            f"INSERT INTO {MANIFESTS} (manifest_id, digest, body) VALUES (?, ?, ?)",
            [MANIFEST.id, digest_of(forged), forged],
        )
    with pytest.raises(ManifestError, match="holds 2 manifests"):
        store.get(MANIFEST.id)
    with pytest.raises(ManifestError, match="holds 2 manifests"):
        store.approve(MANIFEST.id, "bob", AT, EVIDENCE, EVIDENCE)


def test_a_text_that_is_not_the_manifest_it_claims_is_refused(connect):
    store = ManifestStore(connect)
    other = canonical_json(replace(MANIFEST, id="bf-other").to_json())
    store.list()
    with connect() as warehouse:
        warehouse.execute(
            f"INSERT INTO {MANIFESTS} (manifest_id, digest, body) VALUES (?, ?, ?)",
            [MANIFEST.id, digest_of(other), other],
        )
        warehouse.execute(
            f"INSERT INTO {MANIFESTS} (manifest_id, digest, body) VALUES (?, ?, ?)",
            ["bf-garbage", digest_of("{}"), "{}"],
        )
        warehouse.execute(
            f"INSERT INTO {MANIFESTS} (manifest_id, digest, body) VALUES (?, ?, ?)",
            ["x'; DROP TABLE audit.backfill_events; --", "d", "{}"],
        )
    with pytest.raises(ManifestError, match="is not that manifest"):
        store.get(MANIFEST.id)
    assert store.list() == []


def test_people_are_compared_trimmed_and_case_insensitively(named_store):
    store = named_store
    # MANIFEST needs two approvals and was requested by dana.ops.
    for requester in ("dana.ops", " DANA.OPS ", "Dana.Ops"):
        with pytest.raises(ManifestError, match="cannot approve"):
            store.approve(MANIFEST.id, requester, AT, EVIDENCE, EVIDENCE)
    store.approve(MANIFEST.id, "bob", AT, EVIDENCE, EVIDENCE)
    for again in ("BOB", " bob", "Bob "):
        with pytest.raises(ManifestError, match="already approved"):
            store.approve(MANIFEST.id, again, AT, EVIDENCE, EVIDENCE)
    assert not store.is_approved(MANIFEST.id, EVIDENCE)
    later = AT + timedelta(minutes=1)
    approvals = store.approve(MANIFEST.id, " Carol  Smith ", later, EVIDENCE, EVIDENCE)
    assert [a["by"] for a in approvals] == ["bob", "Carol Smith"]
    assert {a["digest"] for a in approvals} == {EVIDENCE}
    assert store.is_approved(MANIFEST.id, EVIDENCE)
    assert [e["event"] for e in store.events(MANIFEST.id)] == ["approved", "approved"]


def test_an_approval_names_the_evidence_reviewed(named_store, tmp_path):
    store, connect = named_store, duckdb_connector(tmp_path / "named.duckdb")
    with pytest.raises(ManifestError, match="review it again"):
        store.approve(MANIFEST.id, "bob", AT, "sha256:0000", EVIDENCE)
    store.approve(MANIFEST.id, "bob", AT, EVIDENCE, EVIDENCE)
    with connect() as warehouse:
        warehouse.execute(
            f"INSERT INTO {APPROVALS} (manifest_id, digest, approver, approver_key, approved_at) "
            "VALUES (?, ?, ?, ?, CAST(? AS TIMESTAMP WITH TIME ZONE))",
            [MANIFEST.id, "sha256:of-other-evidence", "carol", "carol", AT.isoformat()],
        )
    # An approval of other evidence (what was held before a retry, say) does not count.
    assert [a["by"] for a in store.approvals(MANIFEST.id, EVIDENCE)] == ["bob"]
    assert not store.is_approved(MANIFEST.id, EVIDENCE)
    assert [a["by"] for a in store.approvals(MANIFEST.id, "sha256:of-other-evidence")] == ["carol"]


def test_events_keep_their_order_and_fields_verbatim(store):
    odd = "it's a \\ note; DROP TABLE audit.backfill_events; --"
    store.record(MANIFEST.id, "launched", AT, backfill_id="abc", note=odd)
    store.record(MANIFEST.id, "cancelled", AT, backfill_ids=["abc"])
    events = store.events(MANIFEST.id)
    assert [(e["event"], e.get("note")) for e in events] == [("launched", odd), ("cancelled", None)]
    assert datetime.fromisoformat(events[0]["at"]) == AT
    assert store.backfill_ids(MANIFEST.id) == ["abc"]
    assert store.launched() == {MANIFEST.id}


def test_identity_by_name_on_the_embedded_default():
    assert NamedIdentity().who("  Ann  Lee ") == "Ann Lee"
    for nobody in (None, "", "   "):
        with pytest.raises(ManifestError, match="name who is acting"):
            NamedIdentity().who(nobody)


def test_identity_from_the_session_in_prod(tmp_path, monkeypatch):
    with fake_snowflake(tmp_path / "lake", monkeypatch, user="BOB") as connect:
        identity = SessionIdentity(connect)
        assert identity.who(None) == "BOB"
        with pytest.raises(ManifestError, match="refused here"):
            identity.who("ann")


def test_people_are_one_person_after_nfkc_and_invisible_characters_are_refused(named_store):
    store = named_store
    for requester in ("ｄａｎａ.ｏｐｓ", "DANA.OPS"):
        with pytest.raises(ManifestError, match="(?i)dana.ops requested .* cannot approve"):
            store.approve(MANIFEST.id, requester, AT, EVIDENCE, EVIDENCE)
    for hidden in ("dana.ops\u200b", "\u2066bob", "bob\x00"):
        with pytest.raises(ManifestError, match="invisible or control character"):
            store.approve(MANIFEST.id, hidden, AT, EVIDENCE, EVIDENCE)
    assert store.approvals(MANIFEST.id, EVIDENCE) == []
    assert NamedIdentity().who("Ａｎｎ  Ｌｅｅ") == "Ann Lee"


def test_snowflake_stamps_the_approver_by_current_user_whatever_the_client_sends(
    tmp_path, monkeypatch
):
    with fake_snowflake(tmp_path, monkeypatch, user="ANN") as as_ann:
        store = ManifestStore(as_ann)
        store.create(MANIFEST)  # requested by dana.ops
        given = store.approve(MANIFEST.id, "mallory", AT, EVIDENCE, EVIDENCE)
        assert [a["by"] for a in given] == ["ANN"]
        # Outside the CLI, the procedure of setup.sql is the only way in: it takes no name.
        connection = snowflake.connector.connect(user="DANA.OPS", **connect_args())
        try:
            SnowflakeWarehouse(connection, STAGE, str(tmp_path)).fetchall(
                f"CALL {RECORD_APPROVAL}(?, ?)", [MANIFEST.id, EVIDENCE]
            )
        finally:
            connection.close()
        with as_ann() as warehouse:
            stored = warehouse.fetchall(f"SELECT approver FROM {APPROVALS} ORDER BY approver")
        assert stored == [("ANN",), ("DANA.OPS",)]
        # The requester's own approval, stamped with their name, never counts.
        assert [a["by"] for a in store.approvals(MANIFEST.id, EVIDENCE)] == ["ANN"]
        assert [(e["event"], e["by"]) for e in store.events(MANIFEST.id)] == [("approved", "ANN")]
