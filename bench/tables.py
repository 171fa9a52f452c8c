"""Plain-text tables for the benchmark reports."""

from __future__ import annotations


def format_table(header: list[str], rows: list[list[str]], align: str | None = None) -> str:
    """Columns padded to their widest cell: the first left-aligned, the others right-aligned,
    unless ``align`` gives one letter per column (``l`` or ``r``)."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    sides = align or "l" + "r" * (len(widths) - 1)

    def line(cells: list[str]) -> str:
        parts = [str(cell).ljust(w) if side == "l" else str(cell).rjust(w)
                 for cell, w, side in zip(cells, widths, sides)]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *(line(row) for row in rows)])


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"
