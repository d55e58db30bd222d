"""The Definitions of FinSight's code location; built when Dagster loads it, not at import."""

import dagster as dg

from finsight_assets.defs.build import build_definitions
from finsight_assets.lib.settings import Settings


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(Settings.from_env())
