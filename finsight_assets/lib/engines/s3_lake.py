"""The lake on S3: production's flavour of `Lake`, under one bucket and prefix.

A raw partition's files come from one object listing; each file's digest is its ETag, so a
re-delivered object shows as a new data version without reading it. Parquet footers and FX rows
are read through pyarrow's S3 file system; staged and exported files are plain objects.
Credentials come from the standard AWS chain, never from configuration.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pyarrow as pa
from pyarrow import fs

from finsight_assets.lib.engines.lake import (
    EXPORTS_FOLDER,
    LakeFile,
    folder_date,
    is_data_file,
    partition_folder,
    unread_why,
)

# S3's DeleteObjects takes at most this many keys a call.
DELETE_BATCH = 1000
# Longer than a backfill job may run on EMR Serverless (12 hours): staging this old is a killed
# run's.
STALE_STAGING = timedelta(hours=24)


def split_s3_uri(uri: str) -> tuple[str, str]:
    """('bucket', 'key') of an s3://bucket/key uri; every caller needs both."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket or not key:
        raise ValueError(f"not an s3://bucket/key uri: {uri!r}")
    return bucket, key


def arrow_s3_filesystem(client: Any) -> fs.S3FileSystem:
    """pyarrow's S3 file system for the same region and endpoint as a boto3 S3 client.

    Credentials come from the standard chain, as the client's do. An endpoint other than AWS's
    own (set through AWS_ENDPOINT_URL or the resource) is passed on: pyarrow does not read it.
    """
    options: dict[str, Any] = {"region": client.meta.region_name}
    endpoint = urlparse(client.meta.endpoint_url)
    if endpoint.hostname and not endpoint.hostname.endswith(".amazonaws.com"):
        options["endpoint_override"] = endpoint.netloc
        options["scheme"] = endpoint.scheme
    return fs.S3FileSystem(**options)


@dataclass(frozen=True)
class S3Lake:
    """A lake under s3://bucket/prefix/ with raw/, staging/ and exports/ beneath it."""

    client: Any
    bucket: str
    prefix: str
    filesystem: fs.FileSystem

    def _key(self, *parts: str) -> str:
        return "/".join(part.strip("/") for part in (self.prefix, *parts) if part.strip("/"))

    def _uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def _objects(self, key_prefix: str) -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=key_prefix):
            yield from page.get("Contents", [])

    def _lake_file(self, item: dict[str, Any]) -> LakeFile:
        key = item["Key"]
        return LakeFile(
            uri=self._uri(key),
            name=key.rsplit("/", 1)[-1],
            size=int(item["Size"]),
            digest=str(item["ETag"]).strip('"'),
            modified_at=item.get("LastModified"),
        )

    def raw_files(self, table: str, business_date: date) -> list[LakeFile]:
        """The Parquet objects of one raw partition by name; none when there are none."""
        folder = self._key("raw", partition_folder(table, business_date)) + "/"
        files = [
            self._lake_file(item)
            for item in self._objects(folder)
            if "/" not in item["Key"][len(folder) :] and is_data_file(item["Key"][len(folder) :])
        ]
        return sorted(files, key=lambda f: f.name)

    def raw_partitions(self, table: str) -> dict[date, list[LakeFile]]:
        """Every raw partition of `table` that has objects, by business date, from one listing."""
        table_prefix = self._key("raw", table) + "/"
        partitions: dict[date, list[LakeFile]] = {}
        for item in self._objects(table_prefix):
            folder, _, name = item["Key"][len(table_prefix) :].partition("/")
            d = folder_date(folder)
            if d is not None and "/" not in name and is_data_file(name):
                partitions.setdefault(d, []).append(self._lake_file(item))
        return {d: sorted(files, key=lambda f: f.name) for d, files in sorted(partitions.items())}

    def unread_folders(self, table: str) -> dict[str, str]:
        """The folders (key prefixes) under raw/`table` that give no data, each with why."""
        table_prefix = self._key("raw", table) + "/"
        names: dict[str, list[str]] = {}
        for item in self._objects(table_prefix):
            folder, slash, name = item["Key"][len(table_prefix) :].partition("/")
            if slash:
                names.setdefault(folder, []).extend([name] if "/" not in name else [])
        return {
            folder: why
            for folder, listed in sorted(names.items())
            if (why := unread_why(folder, listed))
        }

    def open_input(self, uri: str) -> pa.NativeFile:
        bucket, key = split_s3_uri(uri)
        return self.filesystem.open_input_file(f"{bucket}/{key}")

    def staging_uri(self, table: str, run_id: str) -> str:
        """A prefix no reader looks at, private to one run, for one table's staged Parquet."""
        return self._uri(self._key("staging", table, f"run={run_id}"))

    def parquet_files(self, uri: str) -> list[str]:
        """The data objects a job wrote under a staging uri, in key order."""
        bucket, key = split_s3_uri(uri)
        if bucket != self.bucket:
            raise ValueError(f"{uri} is outside the lake s3://{self.bucket}/{self.prefix}")
        return sorted(
            self._uri(item["Key"])
            for item in self._objects(key.rstrip("/") + "/")
            if is_data_file(item["Key"].rsplit("/", 1)[-1])
        )

    def put_export(self, local_path: Path, name: str) -> str:
        """Upload a finished export under exports/; an S3 PUT appears whole or not at all."""
        key = self._key(EXPORTS_FOLDER, name)
        self.client.upload_file(str(local_path), self.bucket, key)
        local_path.unlink(missing_ok=True)
        return self._uri(key)

    def alias(self, uri: str, alias_uri: str) -> None:
        """Make an object readable under another key (a server-side copy; the object is
        untouched)."""
        bucket, key = split_s3_uri(uri)
        alias_bucket, alias_key = split_s3_uri(alias_uri)
        self.client.copy({"Bucket": bucket, "Key": key}, alias_bucket, alias_key)

    def sweep_staging(self) -> list[str]:
        """Remove staged objects older than any job can run (`STALE_STAGING`): a killed run's.
        Run workers are on other machines, so age, not a process, says a run is gone."""
        cutoff = datetime.now(UTC) - STALE_STAGING
        stale = [
            item["Key"]
            for item in self._objects(self._key("staging") + "/")
            if item["LastModified"] < cutoff
        ]
        self._delete(self.bucket, stale)
        return [self._uri(key) for key in stale]

    def remove_staging(self, uri: str) -> None:
        bucket, key = split_s3_uri(uri)
        self._delete(bucket, [item["Key"] for item in self._objects(key.rstrip("/") + "/")])

    def _delete(self, bucket: str, keys: list[str]) -> None:
        for start in range(0, len(keys), DELETE_BATCH):
            batch = [{"Key": k} for k in keys[start : start + DELETE_BATCH]]
            self.client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
