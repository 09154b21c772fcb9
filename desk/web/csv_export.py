"""CSV for open data: RFC 4180 (comma, double quotes, CRLF), safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping

# A cell starting with one of these is run as a formula by spreadsheet programs.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _neutralised(value: object) -> object:
    if not isinstance(value, str) or not value.startswith(_FORMULA_STARTS):
        return value
    try:
        float(value)  # "-3.5" is a number, not a formula
    except ValueError:
        return "'" + value
    return value


def csv_text(columns: list[str], rows: Iterable[Mapping[str, object]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, quoting=csv.QUOTE_MINIMAL)
    writer.writeheader()
    writer.writerows({k: _neutralised(row.get(k, "")) for k in columns} for row in rows)
    return buffer.getvalue()
