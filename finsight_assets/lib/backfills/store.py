"""Where manifests live: one operations store per environment, in the warehouse's audit schema.

Every CLI, sensor and run of an environment opens the same warehouse (the DuckDB file of the
embedded default, the Snowflake account in prod), so they all see the same backfills. The
warehouse rather than the lake, because it is transactional on both engines, every operation
already holds a connection to it, its rows sit beside the partition versions they explain, and
where the warehouse authenticates users (Snowflake), its session says who is acting
(`identity.py`).

The store only ever INSERTs and SELECTs (in prod its role is granted nothing else):
- `backfill_manifests`: a manifest written once, as its canonical JSON with that text's SHA-256;
- `backfill_approvals`: who approved which evidence digest of a manifest (what its held
  versions are, `evidence.evidence_digest`); where the warehouse authenticates users, the
  approver is stamped by the server (`CURRENT_USER()` in the procedure
  `audit.record_backfill_approval` of `deploy/snowflake/setup.sql`), never text the client sends;
- `backfill_events`: what happened to it later (launches, retries, cancellations, rollbacks,
  failures), in the order recorded, each with who acted (`by`).
A manifest id under which the store holds anything but one row whose digest matches its text,
or whose text is not the canonical form of a manifest with that id, is refused on every load.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from finsight_assets.lib.backfills import events
from finsight_assets.lib.backfills.manifests import Manifest, ManifestError, json_default
from finsight_assets.lib.backfills.people import person_key, person_name
from finsight_assets.lib.contract.run_tags import is_manifest_id
from finsight_assets.lib.engines.warehouse import Connect, Warehouse, bind
from finsight_assets.lib.wap.audit_tables import AUDIT_SCHEMA

logger = logging.getLogger(__name__)

# In the audit schema, beside the partition versions they explain.
MANIFESTS = f"{AUDIT_SCHEMA}.backfill_manifests"
APPROVALS = f"{AUDIT_SCHEMA}.backfill_approvals"
EVENTS = f"{AUDIT_SCHEMA}.backfill_events"
EVENT_SEQUENCE = f"{AUDIT_SCHEMA}.backfill_events_seq"
# Where the warehouse authenticates users, approvals are recorded only through this procedure,
# which stamps the session's CURRENT_USER() (deploy/snowflake/setup.sql).
RECORD_APPROVAL = f"{AUDIT_SCHEMA}.record_backfill_approval"


def create_tables(warehouse: Warehouse) -> None:
    """Create the store's tables and sequence if missing (in the existing audit schema)."""
    warehouse.execute(
        f"CREATE TABLE IF NOT EXISTS {MANIFESTS} (manifest_id VARCHAR, digest VARCHAR, "
        "body VARCHAR, written_at TIMESTAMP WITH TIME ZONE)"
    )
    warehouse.execute(
        f"CREATE TABLE IF NOT EXISTS {APPROVALS} (manifest_id VARCHAR, digest VARCHAR, "
        "approver VARCHAR, approver_key VARCHAR, approved_at TIMESTAMP WITH TIME ZONE)"
    )
    warehouse.execute(f"CREATE SEQUENCE IF NOT EXISTS {EVENT_SEQUENCE}")
    warehouse.execute(
        f"CREATE TABLE IF NOT EXISTS {EVENTS} (seq BIGINT, manifest_id VARCHAR, event VARCHAR, "
        "recorded_at TIMESTAMP WITH TIME ZONE, fields VARCHAR)"
    )


def canonical_json(document: Mapping[str, Any]) -> str:
    """The one text of a JSON document: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=json_default
    )


def digest_of(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _checked(manifest_id: str) -> str:
    if not is_manifest_id(manifest_id):
        raise ManifestError(f"not a manifest id: {manifest_id!r}")
    return manifest_id


def _manifest_from_rows(manifest_id: str, rows: list[tuple[Any, ...]]) -> tuple[Manifest, str]:
    """The manifest and its digest, if the store holds exactly one true copy of it."""
    if not rows:
        raise ManifestError(f"no manifest {manifest_id} in the operations store")
    if len(rows) > 1:
        raise ManifestError(
            f"the operations store holds {len(rows)} manifests under {manifest_id}; "
            "refusing all of them"
        )
    digest, body = rows[0]
    if digest_of(body) != digest:
        raise ManifestError(
            f"manifest {manifest_id} was changed after it was written: its text no longer "
            f"matches its digest {digest}"
        )
    try:
        manifest = Manifest.from_json(json.loads(body))
    except (ValueError, KeyError, TypeError) as error:
        raise ManifestError(f"manifest {manifest_id} is not a manifest: {error}") from error
    if manifest.id != manifest_id or canonical_json(manifest.to_json()) != body:
        raise ManifestError(f"the text stored as manifest {manifest_id} is not that manifest")
    return manifest, digest


class ManifestStore:
    """The environment's manifests, approvals and events, in its warehouse."""

    def __init__(self, connect: Connect, read: Connect | None = None):
        """Writes go through `connect`, reads through `read` (the same unless given: a sensor
        reads through a read-only connection)."""
        self._write = connect
        self._read = read or connect

    def _load(self, manifest_id: str) -> tuple[Manifest, str]:
        with self._read() as warehouse:
            rows = warehouse.fetchall(
                f"SELECT digest, body FROM {MANIFESTS} WHERE manifest_id = ?",
                [_checked(manifest_id)],
            )
        return _manifest_from_rows(manifest_id, rows)

    def create(self, manifest: Manifest) -> Manifest:
        """Write the manifest once; an id the store already holds is refused."""
        body = canonical_json(manifest.to_json())
        moment, moment_params = bind(manifest.created_at)
        with self._write() as warehouse:
            inserted = warehouse.count_changed(
                f"INSERT INTO {MANIFESTS} (manifest_id, digest, body, written_at) "
                f"SELECT ?, ?, ?, {moment} "
                f"WHERE NOT EXISTS (SELECT 1 FROM {MANIFESTS} WHERE manifest_id = ?)",
                [_checked(manifest.id), digest_of(body), body, *moment_params, manifest.id],
            )
        if not inserted:
            raise ManifestError(f"the operations store already holds a manifest {manifest.id}")
        return manifest

    def exists(self, manifest_id: str) -> bool:
        with self._read() as warehouse:
            return bool(
                warehouse.fetchall(
                    f"SELECT 1 FROM {MANIFESTS} WHERE manifest_id = ?", [_checked(manifest_id)]
                )
            )

    def get(self, manifest_id: str) -> Manifest:
        return self._load(manifest_id)[0]

    def digest(self, manifest_id: str) -> str:
        """The SHA-256 of the manifest's canonical JSON: what an approval names."""
        return self._load(manifest_id)[1]

    def list(self) -> list[Manifest]:
        """Every manifest in the store; one that does not load is skipped with a warning."""
        with self._read() as warehouse:
            rows = warehouse.fetchall(f"SELECT manifest_id, digest, body FROM {MANIFESTS}")
        by_id: dict[str, list[tuple[Any, ...]]] = {}
        for manifest_id, digest, body in rows:
            by_id.setdefault(manifest_id, []).append((digest, body))
        manifests = []
        for manifest_id, copies in sorted(by_id.items()):
            try:
                manifests.append(_manifest_from_rows(_checked(manifest_id), copies)[0])
            except ManifestError as error:
                logger.warning("manifest %r skipped: %s", manifest_id, error)
        return sorted(manifests, key=lambda m: (m.created_at, m.id))

    def approve(
        self, manifest_id: str, by: str, at: datetime, digest: str, current: str
    ) -> list[dict[str, Any]]:
        """Record `by`'s approval of `digest`, the evidence digest the approver reviewed, which
        must be `current` (the caller's digest of what is under review now).

        The requester cannot approve, a rejected manifest neither, and each person approves a
        digest once, names compared as `people.person_key` does. Where the warehouse
        authenticates users, the approver recorded is its session's user, whatever `by` says.
        """
        manifest = self.get(manifest_id)
        self.refuse_rejected(manifest_id, "approve it")
        if digest != current:
            raise ManifestError(
                f"{manifest_id}'s evidence is {current}, not {digest}: review it again"
            )
        name = person_name(self._session_user() or by)
        if person_key(name) == person_key(manifest.requested_by):
            raise ManifestError(f"{name} requested {manifest_id} and cannot approve it")
        given = self.approvals(manifest_id, current)
        if any(person_key(a["by"]) == person_key(name) for a in given):
            raise ManifestError(f"{name} has already approved {manifest_id}")
        moment, moment_params = bind(at)
        with self._write() as warehouse:
            if warehouse.authenticates_users:
                [(stamped,)] = warehouse.fetchall(
                    f"CALL {RECORD_APPROVAL}(?, ?)", [manifest_id, current]
                )
                name = str(stamped)
            else:
                warehouse.execute(
                    f"INSERT INTO {APPROVALS} (manifest_id, digest, approver, approver_key, "
                    f"approved_at) VALUES (?, ?, ?, ?, {moment})",
                    [manifest_id, current, name, person_key(name), *moment_params],
                )
        self.record(manifest_id, events.APPROVED, at, by=name, digest=current)
        return self.approvals(manifest_id, current)

    def _session_user(self) -> str | None:
        """The user the warehouse authenticated, where it authenticates users."""
        with self._read() as warehouse:
            return warehouse.session_user() if warehouse.authenticates_users else None

    def approvals(self, manifest_id: str, current: str) -> list[dict[str, Any]]:
        """The approvals that count: of the digest under review, one per person (the name as
        stored, compared as `person_key` does), not the requester's, first approval first."""
        manifest = self.get(manifest_id)
        with self._read() as warehouse:
            rows = warehouse.fetchall(
                f"SELECT approver, approved_at FROM {APPROVALS} "
                "WHERE manifest_id = ? AND digest = ? ORDER BY approved_at, approver",
                [manifest_id, current],
            )
        counted: dict[str, dict[str, Any]] = {}
        for approver, approved_at in rows:
            key = person_key(approver)
            if key != person_key(manifest.requested_by):
                counted.setdefault(
                    key, {"by": approver, "at": approved_at.isoformat(), "digest": current}
                )
        return list(counted.values())

    def approvals_given(self, manifest_id: str, held: str | None) -> list[dict[str, Any]]:
        """The approvals of the backfill's evidence as they stand, whatever happened after:
        of the evidence it holds (`held`), or, once nothing is held, of the evidence its last
        held publish published."""
        if held is not None:
            return self.approvals(manifest_id, held)
        published = [
            e["digest"]
            for e in self.events(manifest_id)
            if e["event"] == events.PUBLISHED_HELD and e.get("digest")
        ]
        return self.approvals(manifest_id, published[-1]) if published else []

    def rejection(self, manifest_id: str) -> dict[str, Any] | None:
        """The manifest's rejection, if it was rejected: final for that manifest."""
        return next((e for e in self.events(manifest_id) if e["event"] == events.REJECTED), None)

    def refuse_rejected(self, manifest_id: str, what: str) -> None:
        """Refuse to `what` ("approve it", "launch it"...) a rejected manifest."""
        rejected = self.rejection(manifest_id)
        if rejected is not None:
            raise ManifestError(
                f"{manifest_id} was rejected by {rejected.get('by', 'someone')} at "
                f"{rejected['at']} ({rejected.get('reason', 'no reason given')}): a rejection "
                f"is final: refusing to {what}; plan a new backfill instead"
            )

    def is_approved(self, manifest_id: str, current: str) -> bool:
        """Whether the matrix's approvals of `current` are in (never for a rejected one)."""
        if self.rejection(manifest_id) is not None:
            return False
        required = self.get(manifest_id).approvals_required
        return len(self.approvals(manifest_id, current)) >= required

    def record(self, manifest_id: str, event: str, at: datetime, **fields: Any) -> None:
        """Append an event to the manifest's history."""
        moment, moment_params = bind(at)
        with self._write() as warehouse:
            warehouse.execute(
                f"INSERT INTO {EVENTS} (seq, manifest_id, event, recorded_at, fields) "
                f"SELECT {warehouse.next_value_sql(EVENT_SEQUENCE)}, ?, ?, {moment}, ?",
                [_checked(manifest_id), event, *moment_params, canonical_json(fields)],
            )

    def events(self, manifest_id: str) -> list[dict[str, Any]]:
        with self._read() as warehouse:
            rows = warehouse.fetchall(
                f"SELECT event, recorded_at, fields FROM {EVENTS} WHERE manifest_id = ? "
                "ORDER BY seq",
                [_checked(manifest_id)],
            )
        return [
            {**json.loads(fields), "event": event, "at": recorded_at.isoformat()}
            for event, recorded_at, fields in rows
        ]

    def launched(self) -> set[str]:
        """The manifests that were ever launched, in one query."""
        with self._read() as warehouse:
            rows = warehouse.fetchall(
                f"SELECT DISTINCT manifest_id FROM {EVENTS} WHERE event = ?", [events.LAUNCHED]
            )
        return {manifest_id for (manifest_id,) in rows}

    def backfill_ids(self, manifest_id: str) -> list[str]:
        """The Dagster backfills launched for this manifest, first launch first."""
        ids = [e["backfill_id"] for e in self.events(manifest_id) if e.get("backfill_id")]
        return list(dict.fromkeys(ids))
