"""Build the `customers` model from `raw_customers` (a stand-in for `dbt build`).

Run as a module: python -m tutorial_shared.build_models --data-dir DIR
reads DIR/raw_customers.csv and writes DIR/customers.csv.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tutorial_shared import data_dir
from tutorial_shared.files import read_rows, write_rows

CUSTOMER_FIELDS = [
    "customer_id",
    "first_name",
    "last_name",
    "full_name",
    "email",
    "country",
    "signup_date",
]


def build_customers(raw_path: str | os.PathLike[str], target_path: str | os.PathLike[str]) -> int:
    """Clean raw customers: trim fields, normalise case, drop rows without an email and
    duplicate ids (first one wins); return how many customers were written."""
    customers: dict[int, dict[str, object]] = {}
    for raw in read_rows(raw_path):
        row = {key: (value or "").strip() for key, value in raw.items()}
        if not row["email"] or int(row["id"]) in customers:
            continue
        customers[int(row["id"])] = {
            "customer_id": int(row["id"]),
            "first_name": row["first_name"],
            "last_name": row["last_name"],
            "full_name": f"{row['first_name']} {row['last_name']}",
            "email": row["email"].lower(),
            "country": row["country"].upper(),
            "signup_date": row["signup_date"],
        }
    return write_rows(target_path, CUSTOMER_FIELDS, (customers[k] for k in sorted(customers)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tutorial_shared.build_models", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="default: $TUTORIAL_DATA_DIR or <project>/.data"
    )
    args = parser.parse_args(argv)
    folder = args.data_dir or data_dir()
    count = build_customers(folder / "raw_customers.csv", folder / "customers.csv")
    print(f"built customers: {count} rows -> {folder / 'customers.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
