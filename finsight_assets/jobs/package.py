"""Package silver's EMR Serverless job: the entry point script and a zip of its Python code.

    python -m finsight_assets.jobs.package --out dist/emr --s3-prefix s3://bucket/finsight/emr

writes `silver_entry.py` (the resource's `entry_point_uri`) and `finsight_silver.zip`
(`py_files_uri`: finsight_assets and dagster_pipes, pure Python, imported from the zip through
`spark.submit.pyFiles`), and prints the `aws s3 cp` commands that upload them.

Native dependencies (pyarrow, which the contract schemas import, and boto3 for the Pipes
messages) cannot come from a zip. They come from a venv-pack archive (`archives_uri`) built on
Amazon Linux 2023 with the Python the code needs, as EMR Serverless documents ("Using Python
libraries with EMR Serverless"): in an `amazonlinux:2023` container, create a venv with
Python 3.11, `pip install venv-pack pyarrow boto3 dagster-pipes`, and
`venv-pack -f -o pyspark_env.tar.gz`. PySpark itself is the application's release
(`EMR_RELEASE_LABEL`, emr-spark-8.0.0: Spark 4.0.2, Python 3.11), never packaged.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Annotated

import dagster_pipes
import typer

import finsight_assets
from finsight_assets.jobs import silver_entry

ZIP_NAME = "finsight_silver.zip"
ENTRY_NAME = "silver_entry.py"


def _python_files(package_dir: Path) -> list[Path]:
    return sorted(
        path for path in package_dir.rglob("*.py") if "__pycache__" not in path.parts
    ) + sorted(package_dir.rglob("py.typed"))


def build(out: Path) -> tuple[Path, Path]:
    """Write the entry point and the code zip under `out`; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    entry = out / ENTRY_NAME
    entry.write_text(Path(silver_entry.__file__).read_text(encoding="utf-8"), encoding="utf-8")
    finsight_dir = Path(finsight_assets.__file__).parent
    pipes_dir = Path(dagster_pipes.__file__).parent
    archive = out / ZIP_NAME
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        # The package's root and what the job imports: lib (plain Python) and jobs.
        zipped.write(finsight_dir / "__init__.py", "finsight_assets/__init__.py")
        for sub in ("lib", "jobs"):
            for path in _python_files(finsight_dir / sub):
                zipped.write(path, f"finsight_assets/{path.relative_to(finsight_dir).as_posix()}")
        for path in _python_files(pipes_dir):
            zipped.write(path, f"dagster_pipes/{path.relative_to(pipes_dir).as_posix()}")
    return entry, archive


def upload_commands(entry: Path, archive: Path, s3_prefix: str) -> list[str]:
    """The `aws s3 cp` commands that put the packaged files under an S3 prefix."""
    prefix = s3_prefix.rstrip("/")
    return [f"aws s3 cp {path} {prefix}/{path.name}" for path in (entry, archive)]


def main(
    out: Annotated[Path, typer.Option(help="Folder to write the packaged files to.")] = Path(
        "dist/emr"
    ),
    s3_prefix: Annotated[
        str, typer.Option(help="Where the files go on S3 (entry_point_uri's folder).")
    ] = "s3://<bucket>/finsight/emr",
) -> None:
    """Package silver's EMR Serverless job and print how to upload it."""
    entry, archive = build(out)
    for command in upload_commands(entry, archive, s3_prefix):
        typer.echo(command)
    prefix = s3_prefix.rstrip("/")
    typer.echo(f"# entry_point_uri={prefix}/{entry.name} py_files_uri={prefix}/{archive.name}")


if __name__ == "__main__":
    typer.run(main)
