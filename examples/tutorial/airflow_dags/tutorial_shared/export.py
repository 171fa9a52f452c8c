"""Export the `customers` model as the CSV handed to downstream consumers."""

from __future__ import annotations

import os

from tutorial_shared.files import read_rows, write_rows

EXPORT_FIELDS = ["customer_id", "full_name", "email", "country"]


def export_customers(
    customers_path: str | os.PathLike[str], export_path: str | os.PathLike[str]
) -> int:
    """Write the public columns of the customers model to `export_path`; return the row count."""
    rows = read_rows(customers_path)
    return write_rows(
        export_path, EXPORT_FIELDS, ({field: row[field] for field in EXPORT_FIELDS} for row in rows)
    )
