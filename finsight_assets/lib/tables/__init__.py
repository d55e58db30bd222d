"""One module per contract table, declaring everything about it; `registry` derives the rest."""
