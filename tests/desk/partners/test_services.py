from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from desk.partners.services import (
    AnswerRefused,
    UploadRefused,
    UploadTooLarge,
    available_actions,
    check_upload,
    parse_action,
    parse_denial,
    parse_extension,
    parse_outcome,
)
from desk.requests import outcomes
from desk.requests.models import DeliveryState, RequestKind

RECEIVED = datetime(2025, 1, 31, 10, 0, tzinfo=UTC)


def test_discovery_form_becomes_a_valid_outcome() -> None:
    outcome = parse_outcome(
        "discovery",
        {
            "holds_data": ["yes"],
            "declarations": ["abonnes", " factures "],
            "categories": ["identité, coordonnées"],
        },
    )
    clean = outcomes.validate(RequestKind.DISCOVERY, outcome, has_file=False).stored()
    assert clean["holds_data"] is True
    assert clean["declarations"] == ["abonnes", "factures"]
    assert clean["categories"] == ["identité", "coordonnées"]


def test_discovery_without_an_answer_is_explained_in_french() -> None:
    outcome = parse_outcome("discovery", {})
    with pytest.raises(outcomes.InvalidAnswer, match="oui ou non"):
        outcomes.validate(RequestKind.DISCOVERY, outcome, has_file=False)


def test_erasure_form_keeps_only_filled_rows() -> None:
    outcome = parse_outcome(
        "erasure",
        {
            "result": ["partial"],
            "erased_categories": ["coordonnées\nconsommation"],
            "kept_category_1": ["factures"],
            "kept_basis_1": ["Code de commerce, article L123-22"],
            "kept_retention_1": ["10 ans"],
            "kept_category_2": [""],
            "kept_basis_2": [""],
            "kept_category_3": ["contrat"],
            "kept_basis_3": ["Prescription civile"],
            "recipients_notified": ["Trésor public, Bibus"],
        },
    )
    clean = outcomes.validate(RequestKind.ERASURE, outcome, has_file=False).stored()
    assert [k["category"] for k in clean["kept"]] == ["factures", "contrat"]
    assert clean["erased_categories"] == ["coordonnées", "consommation"]
    assert clean["recipients_notified"] == ["Trésor public", "Bibus"]


def test_erasure_kept_row_without_legal_reason_is_refused() -> None:
    outcome = parse_outcome("erasure", {"result": ["partial"], "kept_category_1": ["factures"]})
    with pytest.raises(outcomes.InvalidAnswer, match="raison légale"):
        outcomes.validate(RequestKind.ERASURE, outcome, has_file=False)


def test_access_and_objection_forms() -> None:
    assert parse_outcome("access", {"holds_data": ["no"]})["holds_data"] is False
    assert "holds_data" not in parse_outcome("access", {})
    access = outcomes.validate(RequestKind.ACCESS, parse_outcome("access", {}), has_file=True)
    assert access == outcomes.AccessOutcome(holds_data=True, note="")
    objection = parse_outcome("objection", {"result": ["stopped"], "note": ["Désinscrite."]})
    clean = outcomes.validate(RequestKind.OBJECTION, objection, has_file=False)
    assert isinstance(clean, outcomes.ObjectionOutcome)
    assert clean.stored() == {
        "result": "stopped",
        "note": "Désinscrite.",
    }


def test_action_extension_and_denial_parsing() -> None:
    assert parse_action({"action": ["fulfil"]}) == "fulfil"
    with pytest.raises(AnswerRefused) as unknown:
        parse_action({"action": ["withdraw"]})
    assert unknown.value.status == 422
    assert parse_extension({"reason": ["Archives"], "extra_months": ["1"]}) == ("Archives", 1)
    with pytest.raises(AnswerRefused):
        parse_extension({"reason": ["Archives"], "extra_months": ["3"]})
    with pytest.raises(AnswerRefused):
        parse_extension({"reason": [" "], "extra_months": ["1"]})
    assert parse_denial({"reason": ["no_match"]}) == ("no_match", "")
    with pytest.raises(AnswerRefused):
        parse_denial({"reason": ["because"]})
    with pytest.raises(AnswerRefused, match="Expliquez"):
        parse_denial({"reason": ["other"], "detail": [""]})


def test_uploads_must_agree_in_extension_type_and_content() -> None:
    ok = check_upload(
        filename="C:\\exports\\copie.JSON",
        content_type="application/json",
        content=b"[1]",
        max_bytes=100,
    )
    assert (ok.filename, ok.content_type) == ("copie.JSON", "application/json")
    csv = check_upload(
        filename="copie.csv",
        content_type="application/vnd.ms-excel",
        content=b"a;b\n1;2\n",
        max_bytes=100,
    )
    assert csv.content_type == "text/csv"
    assert check_upload(
        filename="c.pdf", content_type="application/pdf", content=b"%PDF-1.4", max_bytes=100
    )
    refused = [
        ("copie.exe", "application/json", b"[1]"),
        ("copie.json", "application/pdf", b"[1]"),
        ("copie.json", "application/json", b"{nope"),
        ("copie.pdf", "application/pdf", b"PK\x03\x04"),
        ("copie.csv", "text/csv", b"a\x00b"),
    ]
    for filename, content_type, content in refused:
        with pytest.raises(UploadRefused) as error:
            check_upload(
                filename=filename, content_type=content_type, content=content, max_bytes=100
            )
        assert error.value.status == 415
    with pytest.raises(UploadTooLarge) as big:
        check_upload(
            filename="c.json",
            content_type="application/json",
            content=b"[" + b"1," * 60 + b"1]",
            max_bytes=100,
        )
    assert big.value.status == 413


def test_extension_only_once_and_within_the_first_month() -> None:
    early = RECEIVED + timedelta(days=3)
    assert available_actions(DeliveryState.SENT, received_at=RECEIVED, now=early) == (
        "acknowledge",
        "extend",
        "need_info",
        "fulfil",
        "deny",
    )
    assert available_actions(DeliveryState.ACKNOWLEDGED, received_at=RECEIVED, now=early) == (
        "extend",
        "need_info",
        "fulfil",
        "deny",
    )
    assert available_actions(DeliveryState.EXTENDED, received_at=RECEIVED, now=early) == (
        "need_info",
        "fulfil",
        "deny",
    )
    late = RECEIVED + timedelta(days=40)
    assert "extend" not in available_actions(
        DeliveryState.ACKNOWLEDGED, received_at=RECEIVED, now=late
    )
    assert available_actions(DeliveryState.FULFILLED, received_at=RECEIVED, now=early) == ()
    assert available_actions(DeliveryState.FAILED, received_at=RECEIVED, now=early) == ()
