"""desk.residents.readable: a signatory's file as fields and tables people read."""

from __future__ import annotations

import json

from desk.residents.readable import MAX_VALUES, Field, Group, Table, read_content


def test_json_becomes_headed_fields_and_tables_in_the_signatorys_words() -> None:
    data = {
        "abonne": {"nom_complet": "Camille", "actif": True, "fin": None},
        "releves": [{"date": "2025-01-02", "index": 12}, {"date": "2025-07-01", "index": 19}],
        "moyens": ["prélèvement", "TIP"],
        "mixte": [1, {"a": 2}],
    }
    read = read_content(json.dumps(data).encode(), "application/json")
    assert not read.unreadable and not read.cut
    abonne, releves, moyens, mixte = read.items
    assert isinstance(abonne, Group) and abonne.label == "Abonne"
    assert [(f.label, f.value) for f in abonne.items if isinstance(f, Field)] == [
        ("Nom complet", "Camille"),
        ("Actif", "oui"),
        ("Fin", "—"),
    ]
    assert isinstance(releves, Table) and releves.headers == ["Date", "Index"]
    assert releves.rows == [["2025-01-02", "12"], ["2025-07-01", "19"]]
    assert isinstance(moyens, Field) and moyens.value == "prélèvement, TIP"
    assert isinstance(mixte, Group) and [i.label for i in mixte.items] == ["Mixte 1", "Mixte 2"]


def test_csv_becomes_a_table_and_huge_or_broken_files_are_bounded() -> None:
    read = read_content(b"date;trajet\n2025-01-02;Brest\n", "text/csv")
    (table,) = read.items
    assert isinstance(table, Table) and table.headers == ["Date", "Trajet"]
    huge = json.dumps({"v": [{"n": n} for n in range(MAX_VALUES + 10)]}).encode()
    assert read_content(huge, "application/json").cut
    assert read_content(b"{nope", "application/json").unreadable
    assert read_content(b"%PDF-1.4", "application/pdf").unreadable
