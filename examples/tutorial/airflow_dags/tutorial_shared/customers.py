"""Load the raw customers extract into the data folder."""

from __future__ import annotations

import os
from pathlib import Path

from tutorial_shared.files import read_rows, write_rows

# The "source system": a small extract shipped with the package.
RAW_CUSTOMERS_CSV = Path(__file__).with_name("raw_customers.csv")


def load_raw_customers(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> int:
    """Copy the raw customer rows from `source` to `target` unchanged; return the row count."""
    rows = read_rows(source)
    fieldnames = list(rows[0]) if rows else ["id"]
    return write_rows(target, fieldnames, rows)
