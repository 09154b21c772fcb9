"""Typed outcomes: validation in French, and the stored JSON keeps its shape (rows, receipts)."""

from __future__ import annotations

from typing import Any

import pytest

from desk.requests import outcomes
from desk.requests.models import RequestKind

# The stored shape before the outcomes were typed: existing rows and signed receipts hold it.
SHAPES: list[tuple[RequestKind, dict[str, Any], bool, dict[str, Any]]] = [
    (
        RequestKind.DISCOVERY,
        {"holds_data": True, "categories": "identité, adresse", "note": " vu "},
        False,
        {
            "holds_data": True,
            "declarations": [],
            "categories": ["identité", "adresse"],
            "note": "vu",
        },
    ),
    (
        RequestKind.DISCOVERY,
        {"holds_data": False, "categories": ["identité"]},
        False,
        {"holds_data": False, "declarations": [], "categories": [], "note": ""},
    ),
    (RequestKind.ACCESS, {}, True, {"holds_data": True, "note": ""}),
    (RequestKind.ACCESS, {"holds_data": False}, False, {"holds_data": False, "note": ""}),
    (
        RequestKind.ERASURE,
        {
            "result": "partial",
            "erased_categories": ["contact"],
            "kept": [{"category": "factures", "legal_basis": "Code de commerce"}],
            "recipients_notified": ["Trésor public"],
        },
        False,
        {
            "result": "partial",
            "erased_categories": ["contact"],
            "kept": [{"category": "factures", "legal_basis": "Code de commerce", "retention": ""}],
            "recipients_notified": ["Trésor public"],
            "note": "",
        },
    ),
    (
        RequestKind.ERASURE,
        {"result": "nothing_held", "erased_categories": ["x"]},
        False,
        {
            "result": "nothing_held",
            "erased_categories": [],
            "kept": [],
            "recipients_notified": [],
            "note": "",
        },
    ),
    (RequestKind.OBJECTION, {"result": "stopped"}, False, {"result": "stopped", "note": ""}),
]


@pytest.mark.parametrize(("kind", "raw", "has_file", "stored"), SHAPES)
def test_the_stored_json_keeps_its_shape(
    kind: RequestKind, raw: dict[str, Any], has_file: bool, stored: dict[str, Any]
) -> None:
    clean = outcomes.validate(kind, raw, has_file=has_file)
    assert clean.stored() == stored
    assert list(clean.stored()) == list(stored)  # the same key order, as signed in receipts


def test_each_kind_has_its_own_type() -> None:
    assert isinstance(
        outcomes.validate(RequestKind.OBJECTION, {"result": "stopped"}, has_file=False),
        outcomes.ObjectionOutcome,
    )
    assert isinstance(
        outcomes.validate(RequestKind.ERASURE, {"result": "erased"}, has_file=False),
        outcomes.ErasureOutcome,
    )


def test_refusals_stay_in_french() -> None:
    with pytest.raises(outcomes.InvalidAnswer, match="traitement arrêté"):
        outcomes.validate(RequestKind.OBJECTION, {"result": "erased"}, has_file=False)
    with pytest.raises(outcomes.InvalidAnswer, match="Joignez la copie"):
        outcomes.validate(RequestKind.ACCESS, {}, has_file=False)
