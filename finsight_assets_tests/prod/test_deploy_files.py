"""The deployment files: least-privilege IAM policies, and settings that agree with each other."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
POLICIES = sorted((DEPLOY / "aws").glob("*-policy.json"))


def env_example() -> dict[str, str]:
    lines = (DEPLOY / "prod" / "env.example").read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))
    return {name: value for name, value in pairs}


def test_there_are_policies_to_check():
    assert {p.name for p in POLICIES} >= {
        "code-location-policy.json",
        "emr-job-role-policy.json",
        "snowflake-stage-policy.json",
    }


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_policies_name_every_action_and_resource(path):
    for statement in json.loads(path.read_text())["Statement"]:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        resources = (
            statement["Resource"]
            if isinstance(statement["Resource"], list)
            else [statement["Resource"]]
        )
        assert all("*" not in action for action in actions), statement["Sid"]
        # Object keys may end in a wildcard under a named prefix; nothing wider.
        assert all(r != "*" and not r.endswith(":::*") for r in resources), statement["Sid"]


def test_policies_and_setup_sql_use_the_example_settings():
    env = env_example()
    bucket, prefix = env["FINSIGHT_S3_BUCKET"], env["FINSIGHT_S3_PREFIX"]
    code_location = (DEPLOY / "aws" / "code-location-policy.json").read_text()
    for lane in ("DAILY", "BACKFILL"):
        assert f"/applications/{env[f'FINSIGHT_EMR_APPLICATION_{lane}']}" in code_location
    assert env["FINSIGHT_EMR_JOB_ROLE_ARN"] in code_location
    assert f"arn:aws:s3:::{bucket}/{prefix}/raw/*" in code_location
    setup = (DEPLOY / "snowflake" / "setup.sql").read_text()
    for lane in ("DAILY", "BACKFILL"):
        assert re.search(
            rf"CREATE WAREHOUSE IF NOT EXISTS {env[f'SNOWFLAKE_{lane}_WAREHOUSE']}\b", setup
        )
        assert f"CREATE ROLE IF NOT EXISTS {env[f'SNOWFLAKE_{lane}_ROLE']};" in setup
    assert f"CREATE ROLE IF NOT EXISTS {env['SNOWFLAKE_OPERATOR_ROLE']};" in setup
    assert f"CREATE STAGE IF NOT EXISTS {env['FINSIGHT_SNOWFLAKE_STAGE']}" in setup
    assert f"URL = 's3://{bucket}/{prefix}/'" in setup
