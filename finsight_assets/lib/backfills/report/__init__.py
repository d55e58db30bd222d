"""The evidence of one backfill as a Markdown report and a PNG chart, for people to read."""
