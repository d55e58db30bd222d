"""The vocabularies the generated rows draw their codes from.

Invalid values are appended after the valid ones, so a row's code is an index into the
vocabulary and a code past the valid ones is a planted defect.
"""

import numpy as np

from finsight_assets.lib.contract.tables import EVENT_TYPES

TRANSACTION_EVENT_TYPES = (*EVENT_TYPES, "CHARGEBACK", "TRANSFER", "ADJUSTMENT")
FX_CURRENCIES = ("EUR", "GBP", "CAD", "JPY", "CHF")
TRANSACTION_CURRENCIES = ("USD", *FX_CURRENCIES, "XYZ", "BTC", "MXN")
MERCHANT_CATEGORIES = (
    "GROCERY",
    "RESTAURANTS",
    "TRAVEL",
    "ELECTRONICS",
    "FUEL",
    "ENTERTAINMENT",
    "HEALTH",
    "UTILITIES",
)
CHANNELS = ("APP", "WEB", "POS", "API")
COUNTRIES = ("US", "CA", "GB", "DE", "FR", "JP", "CH")
SEGMENTS = ("RETAIL", "SMB", "CORPORATE")
KYC_STATUSES = ("VERIFIED", "PENDING", "REJECTED")
EXTRA_TRANSACTION_COLUMN = "channel"

# USD value of one unit of each of FX_CURRENCIES, around which the daily rates drift.
FX_BASE_RATES = np.array([1.08, 1.27, 0.73, 0.0066, 1.12])
