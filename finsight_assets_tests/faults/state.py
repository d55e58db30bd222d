"""What a crash must never break, read from a FinSight home after its process was killed."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from finsight_assets.lib.engines.duckdb_warehouse import DuckDBWarehouse, open_duckdb
from finsight_assets.lib.tables.registry import TABLES
from finsight_assets.lib.wap.audit_tables import HELD_VERSIONS, PARTITION_VERSIONS
from finsight_assets.lib.wap.layout import STAGING_SCHEMA, versions_table
from finsight_assets.lib.wap.versions import all_current_versions

# (table, business date) -> (rows, hash of the business columns): a partition's content.
Fingerprints = Mapping[tuple[str, str], tuple[int, int]]


def raw_digests(home: Path) -> dict[str, str]:
    raw = home / "lake" / "raw"
    return {
        str(p.relative_to(raw)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(raw.rglob("*"))
        if p.is_file()
    }


@dataclass(frozen=True)
class Observed:
    """A home's published partitions and what a killed run may have left behind."""

    fingerprints: dict[tuple[str, str], tuple[int, int]]
    violations: list[str]
    leftovers: list[str]


def observe(home: Path) -> Observed:
    """Fingerprint every published partition and check the invariants of the protocol: one
    version per partition and it is the current one, no duplicate keys, held versions whole,
    no rows in a versions table of a version neither published nor held."""
    fingerprints: dict[tuple[str, str], tuple[int, int]] = {}
    violations: list[str] = []
    if not (home / "warehouse.duckdb").exists():
        return Observed({}, [], [])
    with open_duckdb(home / "warehouse.duckdb", read_only=True) as connection:
        warehouse = DuckDBWarehouse(connection)
        current = {(t, d.isoformat()): v for (t, d), v in all_current_versions(warehouse).items()}
        for table in TABLES:
            name = table.qualified_name
            hashed = warehouse.check_hash_sql(table.columns)
            for d, rows, digest, versions, version in warehouse.fetchall(
                f"SELECT business_date, COUNT(*), SUM({hashed}), COUNT(DISTINCT _version_id), "
                f"MIN(_version_id) FROM {name} GROUP BY 1 ORDER BY 1"
            ):
                key = (name, d.isoformat())
                fingerprints[key] = (int(rows), int(digest))
                if versions != 1:
                    violations.append(f"{name} {d}: {versions} versions published at once")
                elif current.get(key) != version:
                    violations.append(f"{name} {d}: rows of {version}, current {current.get(key)}")
            key_columns = ", ".join(table.key or ("business_date", "event_id"))
            duplicated = warehouse.fetchall(
                f"SELECT {key_columns}, COUNT(*) FROM {name} "
                f"WHERE {(table.key or ('event_id',))[-1]} IS NOT NULL "
                f"GROUP BY {key_columns} HAVING COUNT(*) > 1 LIMIT 3"
            )
            violations.extend(f"{name}: duplicate key {row[:-1]}" for row in duplicated)
            # Rows of versions never published: held ones, or rows nothing records (a leak).
            held = dict(
                warehouse.fetchall(
                    f"SELECT _version_id, COUNT(*) FROM {versions_table(table)} "
                    f"WHERE _version_id NOT IN (SELECT version_id FROM {PARTITION_VERSIONS.name}) "
                    "GROUP BY 1"
                )
            )
            recorded = dict(
                warehouse.fetchall(
                    f"SELECT version_id, row_count FROM {HELD_VERSIONS.name} WHERE table_name = ?",
                    [name],
                )
            )
            for version_id, rows in recorded.items():
                if held.get(version_id, 0) != rows:
                    violations.append(
                        f"{name}: held version {version_id} has {held.get(version_id, 0)} of "
                        f"{rows} rows"
                    )
            violations.extend(
                f"{name}: held rows of unrecorded version {v}" for v in set(held) - set(recorded)
            )
        staging = warehouse.fetchall(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_schema = ?",
            [STAGING_SCHEMA],
        )
    staged_files = home / "lake" / "staging"
    leftovers = [r[0] for r in staging] + (
        [str(p.relative_to(home)) for p in sorted(staged_files.glob("*/*"))]
        if staged_files.is_dir()
        else []
    )
    return Observed(fingerprints, violations, leftovers)


def mixed(found: Fingerprints, old: Fingerprints, new: Fingerprints) -> list[str]:
    """Partitions that are neither their old nor their new content (absent counts as itself)."""
    return [
        f"{table} {d}: neither its old nor its new rows"
        for table, d in sorted(set(found) | set(old) | set(new))
        if found.get((table, d)) not in (old.get((table, d)), new.get((table, d)))
    ]
