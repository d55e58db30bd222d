"""NumPy-to-Arrow helpers: exact decimals, timestamps in microseconds, coded strings."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MICROS_PER_SECOND = 1_000_000
MICROS_PER_DAY = 86_400 * MICROS_PER_SECOND
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def decimal_from_unscaled(
    unscaled: np.ndarray, scale: int, valid: np.ndarray | None = None
) -> pa.Array:
    """Build a decimal128(18, scale) array whose values are unscaled * 10**-scale, exactly.

    The integers are cast to decimals of scale 0 and the buffer is reinterpreted with the
    wanted scale, so no value ever passes through a float.
    """
    unscaled = np.asarray(unscaled, dtype=np.int64)
    if unscaled.size and int(np.abs(unscaled).max()) >= 10**18:
        raise ValueError("unscaled value does not fit in 18 digits")
    mask = None if valid is None else ~np.asarray(valid, dtype=bool)
    integers = pa.array(unscaled, type=pa.int64(), mask=mask)
    return integers.cast(pa.decimal128(19, 0)).view(pa.decimal128(18, scale))


def to_micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def vocabulary(values: Sequence[str]) -> pa.Array:
    return pa.array(values, pa.string())


def take(values: pa.Array, codes: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    mask = None if valid is None else ~valid
    return values.take(pa.array(codes, pa.int64(), mask=mask))


def format_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def null_where_invalid(values: pa.Array, valid: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(valid), values, pa.scalar(None, values.type))


def timestamps(micros: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    mask = None if valid is None else ~valid
    return pa.array(micros, pa.timestamp("us", tz="UTC"), mask=mask)
