from __future__ import annotations

import csv
import io

from desk.web.csv_export import csv_text


def test_formulas_are_neutralised_but_numbers_and_text_stay() -> None:
    text = csv_text(
        ["a", "b", "c", "d"],
        [{"a": '=HYPERLINK("http://x")', "b": "-3.5", "c": "Brest, métropole", "d": "@SUM(1)"}],
    )
    assert text.endswith("\r\n")
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert row == {
        "a": '\'=HYPERLINK("http://x")',
        "b": "-3.5",
        "c": "Brest, métropole",
        "d": "'@SUM(1)",
    }
