"""Orders pipeline steps used by the `daily_orders` DAG: extract, clean, summarise, publish."""

from __future__ import annotations

import os
import shlex
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from pathlib import Path

from tutorial_shared.files import read_rows, write_rows

# The "source system": a small extract shipped with the package.
RAW_ORDERS_CSV = Path(__file__).with_name("raw_orders.csv")

ORDER_FIELDS = ["order_id", "customer_id", "order_date", "status", "amount"]
SUMMARY_FIELDS = ["order_date", "orders", "revenue"]
# Orders that count towards revenue; cancelled and returned ones do not.
REVENUE_STATUSES = {"placed", "shipped", "completed"}


def extract_orders(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> int:
    """Copy the raw order rows from `source` to `target` unchanged; return the row count."""
    return write_rows(target, ORDER_FIELDS, read_rows(source))


def clean_orders(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> int:
    """Keep orders with a revenue status and a positive amount, status lower-cased."""
    cleaned = []
    for row in read_rows(source):
        status = row["status"].strip().lower()
        try:
            amount = Decimal(row["amount"])
        except InvalidOperation:  # empty or malformed amount
            continue
        if status in REVENUE_STATUSES and amount > 0:
            cleaned.append({**row, "status": status, "amount": f"{amount:.2f}"})
    return write_rows(target, ORDER_FIELDS, cleaned)


def summarize_orders(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> int:
    """Write one row per order date: number of orders and revenue; return the number of days."""
    orders: dict[str, int] = defaultdict(int)
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    for row in read_rows(source):
        orders[row["order_date"]] += 1
        revenue[row["order_date"]] += Decimal(row["amount"])
    return write_rows(
        target,
        SUMMARY_FIELDS,
        (
            {"order_date": day, "orders": orders[day], "revenue": f"{revenue[day]:.2f}"}
            for day in sorted(orders)
        ),
    )


def publish_command(summary: str | os.PathLike[str], reports_dir: str | os.PathLike[str]) -> str:
    """The shell command that publishes the summary: a copy into `reports_dir`."""
    folder = shlex.quote(str(reports_dir))
    return f"mkdir -p {folder} && cp {shlex.quote(str(summary))} {folder}/"
