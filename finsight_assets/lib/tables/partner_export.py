"""exports.partner_daily_export: the partner's daily CSV, a copy of the customer summaries."""

from finsight_assets.lib.tables.declaration import Export

PARTNER_EXPORT = Export(
    qualified_name="exports.partner_daily_export",
    description="The partner's daily CSV of customer summaries under the lake's exports/.",
    code_version="1",
    exported_from="gold.daily_customer_summary",
)
