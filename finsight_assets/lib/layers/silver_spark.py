"""The silver transforms in PySpark: raw Parquet in, staged Parquet out, one pass over the input.

Each transform writes every raw row once with its `outcome`, so the warehouse can split the
rows into their tables and prove that none was lost:
- transactions: VALID, REJECTED (with reason_code) or DUPLICATE (a delivery dedup removed);
- customers: VALID, SUPERSEDED (an older row of a repeated customer) or MISSING_ID.

A row that makes its day uncomputable (docs/contract.md, "Bad raw input") also carries its
`problem` (text that is not UTF-8, or an amount_usd beyond decimal(18,2)) and the raw file it
came from (`source_file`). The warehouse fails those days, naming the file and the rows;
the rest of the batch goes on. Such a row's text is written made valid, so the staged files
always load.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from finsight_assets.lib.contract import tables as contract
from finsight_assets.lib.contract.tables import BUSINESS_TIME_ZONE
from finsight_assets.lib.layers.silver_job import DECLARED_TRANSFORMS, SilverJob
from finsight_assets.lib.tables.declaration import DeclarationError

# What Python's str.strip() strips (docs/contract.md: emails are trimmed so): every character whose
# str.isspace() is true, as a regular expression class.
PYTHON_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

_SPARK_TYPES = {
    "string": T.StringType(),
    "decimal128(18, 2)": T.DecimalType(18, 2),
    "decimal128(18, 8)": T.DecimalType(18, 8),
    "timestamp[us, tz=UTC]": T.TimestampType(),
}


def spark_schema(table: str) -> T.StructType:
    """The contract's columns of a raw table as a Spark schema (extra file columns are ignored)."""
    return T.StructType(
        [
            T.StructField(field.name, _SPARK_TYPES[str(field.type)], nullable=True)
            for field in contract.RAW_SCHEMAS[table]
        ]
    )


def read_raw(
    spark: SparkSession, table: str, files_by_date: Mapping[date, Sequence[str]]
) -> DataFrame:
    """The rows of the given raw files, with the business_date of the folder each came from and
    the file itself (`source_file`)."""
    files = [path for d in sorted(files_by_date) for path in files_by_date[d]]
    date_of_file = F.regexp_extract(
        F.col("_metadata.file_path"), r"business_date=(\d{4}-\d{2}-\d{2})", 1
    )
    return (
        spark.read.schema(spark_schema(table))
        .parquet(*files)
        .select(
            "*",
            F.to_date(date_of_file).alias("business_date"),
            F.col("_metadata.file_path").alias("source_file"),
        )
    )


def _text_columns(table: str) -> list[str]:
    return [f.name for f in spark_schema(table).fields if isinstance(f.dataType, T.StringType)]


def _invalid_utf8(table: str) -> Column:
    """The first text column of the row that is not valid UTF-8, as a problem (NULL: none)."""
    problem: Column = F.lit(None).cast("string")
    for name in reversed(_text_columns(table)):
        problem = F.when(
            ~F.is_valid_utf8(F.col(name)), F.lit(f"text that is not UTF-8 in column {name}")
        ).otherwise(problem)
    return problem


def _made_valid(frame: DataFrame, table: str) -> DataFrame:
    """The text of rows with a problem made valid UTF-8 (U+FFFD for bad bytes): their day fails,
    and the staged file must still load to say which rows made it fail. Only those rows keep
    their `source_file` (the others would carry a path each for nothing)."""
    frame = frame.withColumn(
        "source_file", F.when(F.col("problem").isNotNull(), F.col("source_file"))
    )
    for name in _text_columns(table):
        frame = frame.withColumn(
            name,
            F.when(F.col("problem").isNull(), F.col(name)).otherwise(
                F.make_valid_utf8(F.col(name))
            ),
        )
    return frame


_RATE_ROW = T.StructType(
    [
        T.StructField("business_date", T.DateType(), False),
        T.StructField("currency", T.StringType(), False),
        T.StructField("listed_usd_rate", T.DecimalType(18, 8), False),
    ]
)


def _rates(spark: SparkSession, usd_rates: Mapping[date, Mapping[str, object]]) -> DataFrame:
    """The day's USD rates as a small frame of literals (exact decimals). Not createDataFrame
    from a Python list: in a local session that starts Python workers to unpickle the rows."""
    rows = [
        F.struct(F.lit(d), F.lit(currency), F.lit(rate))
        for d, by_currency in sorted(usd_rates.items())
        for currency, rate in sorted(by_currency.items())
    ]
    listed = F.array(*rows).cast(T.ArrayType(_RATE_ROW))
    return spark.range(1).select(F.inline(listed))


def _reason_code(business_date: Column) -> Column:
    missing = None
    for name in contract.REQUIRED_TRANSACTION_FIELDS:
        condition = F.col(name).isNull()
        missing = condition if missing is None else missing | condition
    new_york_date = F.to_date(F.from_utc_timestamp(F.col("event_ts"), BUSINESS_TIME_ZONE))
    return (
        F.when(missing, F.lit(contract.MISSING_FIELD))
        .when(~F.col("event_type").isin(*contract.EVENT_TYPES), F.lit(contract.UNKNOWN_EVENT_TYPE))
        .when(F.col("amount") <= 0, F.lit(contract.NON_POSITIVE_AMOUNT))
        .when(new_york_date != business_date, F.lit(contract.WRONG_BUSINESS_DATE))
        .when(F.col("usd_rate").isNull(), F.lit(contract.UNKNOWN_CURRENCY))
    )


def transaction_outcomes(
    spark: SparkSession,
    files_by_date: Mapping[date, Sequence[str]],
    usd_rates: Mapping[date, Mapping[str, object]],
) -> DataFrame:
    """Every raw transaction row with its outcome, reason_code and USD amounts
    (docs/contract.md)."""
    raw = read_raw(spark, "transactions", files_by_date)
    latest_first = Window.partitionBy("business_date", "event_id").orderBy(
        F.col("ingested_at").desc_nulls_last(),
        *[F.col(name).asc_nulls_last() for name in contract.DELIVERY_TIE_BREAK],
    )
    # Rows without an event_id cannot be duplicates of each other: each is kept (and rejected).
    delivery_rank = F.when(F.col("event_id").isNull(), F.lit(1)).otherwise(
        F.row_number().over(latest_first)
    )
    usd_rate = F.when(F.col("currency") == contract.BASE_CURRENCY, F.lit(1).cast("decimal(18,8)"))
    usd_rate = usd_rate.otherwise(F.col("listed_usd_rate"))
    # Rounded at the product's own precision, then checked against decimal(18,2)'s range: a
    # value beyond it is the day's problem, never a NULL or a wrapped amount.
    exact_usd = F.round(F.col("amount") * F.col("usd_rate"), 2)
    fits = F.abs(exact_usd) < F.lit(Decimal(contract.MONEY_LIMIT))
    amount_usd = F.when(fits, exact_usd.cast("decimal(18,2)"))
    overflow = F.when(
        (F.col("outcome") == "VALID") & ~fits,
        F.concat(
            F.lit("amount * usd_rate = "),
            exact_usd.cast("string"),
            F.lit(" does not fit decimal(18,2)"),
        ),
    )
    signed = F.when(F.col("event_type").isin(*contract.CREDIT_EVENT_TYPES), F.col("amount_usd"))
    signed = signed.otherwise(-F.col("amount_usd")).cast("decimal(18,2)")
    reason = _reason_code(F.col("business_date"))
    return (
        raw.withColumn("delivery_rank", delivery_rank)
        .join(F.broadcast(_rates(spark, usd_rates)), ["business_date", "currency"], "left")
        .withColumn("usd_rate", usd_rate)
        .withColumn("reason_code", F.when(F.col("delivery_rank") == 1, reason))
        .withColumn(
            "outcome",
            F.when(F.col("delivery_rank") > 1, F.lit("DUPLICATE"))
            .when(F.col("reason_code").isNotNull(), F.lit("REJECTED"))
            .otherwise(F.lit("VALID")),
        )
        .withColumn("amount_usd", F.when(F.col("outcome") == "VALID", amount_usd))
        .withColumn("signed_amount_usd", F.when(F.col("outcome") == "VALID", signed))
        .withColumn("problem", F.coalesce(_invalid_utf8("transactions"), overflow))
        .transform(lambda frame: _made_valid(frame, "transactions"))
        .drop("listed_usd_rate", "delivery_rank")
    )


def customer_outcomes(
    spark: SparkSession,
    files_by_date: Mapping[date, Sequence[str]],
    usd_rates: Mapping[date, Mapping[str, object]],
) -> DataFrame:
    """Every raw customer row with its outcome; the latest row of each customer is VALID (it
    looks up no rates)."""
    raw = read_raw(spark, "customers", files_by_date)
    latest_first = Window.partitionBy("business_date", "customer_id").orderBy(
        F.col("updated_at").desc_nulls_last(),
        *[
            F.col(name).asc_nulls_last()
            for name in ("created_at", "country", "segment", "kyc_status", "email", "full_name")
        ],
    )
    # Java's regular expressions, as Spark runs them: each character as a \uXXXX escape.
    whitespace = "[" + "".join(f"\\u{ord(ch):04x}" for ch in PYTHON_WHITESPACE) + "]"
    trimmed = F.regexp_replace(F.col("email"), f"^{whitespace}+|{whitespace}+$", "")
    email_sha256 = F.when(trimmed != "", F.sha2(F.lower(trimmed), 256))
    return (
        raw.withColumn("snapshot_rank", F.row_number().over(latest_first))
        .withColumn(
            "outcome",
            F.when(F.col("customer_id").isNull(), F.lit("MISSING_ID"))
            .when(F.col("snapshot_rank") > 1, F.lit("SUPERSEDED"))
            .otherwise(F.lit("VALID")),
        )
        .withColumn("problem", _invalid_utf8("customers"))
        .transform(lambda frame: _made_valid(frame, "customers"))
        .withColumn("email_sha256", email_sha256)
        .drop("snapshot_rank", "full_name", "email")
    )


def write_staged(frame: DataFrame, uri: str) -> None:
    """Write a transform's rows as Parquet files under a run's staging uri.

    `business_date` stays a column in the files (no folder per date): the write needs no sort,
    and a warehouse can load the files by column name (Snowflake's COPY INTO reads no folders).
    """
    frame.write.mode("overwrite").parquet(uri)


Transform = Callable[
    [SparkSession, Mapping[date, Sequence[str]], Mapping[date, Mapping[str, object]]], DataFrame
]
# Each declared source's transform (`RawSource.transform`), by name.
TRANSFORMS: dict[str, Transform] = {
    "transactions": transaction_outcomes,
    "customers": customer_outcomes,
}
_UNDECLARED = set(DECLARED_TRANSFORMS) ^ set(TRANSFORMS)
if _UNDECLARED:
    raise DeclarationError(
        f"silver transform(s) {sorted(_UNDECLARED)}: declared by a source without a Spark "
        "transform here, or the other way round"
    )


def run_job(spark: SparkSession, job: SilverJob) -> None:
    """Run one silver job: read its raw files once, write every row with its outcome."""
    write_staged(
        TRANSFORMS[job.transform](spark, job.files_by_date, job.usd_rates), job.staging_uri
    )


def outcome_counts(spark: SparkSession, uri: str) -> dict[str, dict[str, int]]:
    """Rows per business date and outcome of a staged job (a small aggregate, for reporting)."""
    rows = spark.read.parquet(uri).groupBy("business_date", "outcome").count().collect()
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        counts.setdefault(row["business_date"].isoformat(), {})[row["outcome"]] = row["count"]
    return counts
