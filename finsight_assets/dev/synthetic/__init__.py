"""Deterministic, vectorised synthetic generator of FinSight's raw layer."""

from finsight_assets.dev.synthetic.arrays import decimal_from_unscaled as decimal_from_unscaled
from finsight_assets.dev.synthetic.dates import (
    is_transaction_free_day as is_transaction_free_day,
)
from finsight_assets.dev.synthetic.dates import (
    new_york_day_bounds_utc as new_york_day_bounds_utc,
)
from finsight_assets.dev.synthetic.generate import GeneratedDay as GeneratedDay
from finsight_assets.dev.synthetic.generate import GenerationSummary as GenerationSummary
from finsight_assets.dev.synthetic.generate import generate_raw as generate_raw
from finsight_assets.dev.synthetic.partitions import (
    redeliver_corrections as redeliver_corrections,
)
