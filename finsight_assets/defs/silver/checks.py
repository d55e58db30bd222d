"""The checks every silver partition passes before it is published."""

SILVER_CHECKS = ("count_identity", "unique_key", "contract_schema", "diff_against_published")
