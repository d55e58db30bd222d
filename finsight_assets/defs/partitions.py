"""The daily business-date partitions (America/New_York), starting at FINSIGHT_START_DATE."""

from __future__ import annotations

from datetime import date

import dagster as dg

from finsight_assets.lib.settings import BUSINESS_TIME_ZONE


def daily_partitions(start_date: date) -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(
        start_date=start_date.isoformat(), timezone=BUSINESS_TIME_ZONE, fmt="%Y-%m-%d"
    )


# Silver and gold compute a whole partition range in one run: one Spark job, one transaction.
SINGLE_RUN = dg.BackfillPolicy.single_run()
