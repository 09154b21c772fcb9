"""The partner API's typed bodies: what they refuse, in which French words, and the document
they produce (no database)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from desk.app import create_app
from desk.charter.bodies import AlertResponseBody, SelfEvaluationBody
from desk.partners import bodies as B
from desk.partners.openapi import document
from desk.requests.states import DENIAL_REASONS
from desk.settings import Settings
from desk.web.errors import ApiProblem
from desk.web.validation import ApiBody, validated


def _refusal(model: type[ApiBody], data: Any) -> str:
    with pytest.raises(ApiProblem) as refused:
        validated(model, data)
    assert refused.value.status == 422
    return refused.value.detail


@pytest.mark.parametrize(
    ("model", "data", "detail"),
    [
        (B.DenyBody, [], "Le corps de la demande doit être un objet JSON."),
        (B.DenyBody, {}, "Le champ « reason » est obligatoire."),
        (
            B.DenyBody,
            {"reason": "x"},
            "Le champ « reason » doit valoir l'une de ces valeurs : "
            + ", ".join(DENIAL_REASONS)
            + ".",
        ),
        (B.DenyBody, {"reason": "other", "detail": None}, "Le champ « detail » ne peut pas valoir"),
        (B.ExtendBody, {"reason": "  ", "extra_months": 1}, "« reason » ne doit pas être vide."),
        (B.ExtendBody, {"reason": "a", "extra_months": "1"}, "« extra_months » doit valoir"),
        (B.ExtendBody, {"reason": "a", "extra_months": True}, "doit être un nombre entier"),
        (B.ExtendBody, {"reason": "a" * 2001, "extra_months": 1}, "(2000 caractères au plus)"),
        (B.NeedInfoBody, {"message": 3}, "Le champ « message » doit être un texte."),
        (B.FulfilBody, {"outcome": []}, "Le champ « outcome » doit être un objet."),
        (B.FulfilBody, {"outcome": {"holds_data": "yes"}}, "doit être true ou false"),
        (
            B.FulfilBody,
            {"outcome": {"kept": [{"category": "a"}]}},
            "Le champ « outcome.kept[0].legal_basis » est obligatoire.",
        ),
        (B.FulfilBody, {"outcome": {"categories": ["a"] * 51}}, "trop d'éléments (50 au plus)"),
        (
            B.FulfilBody,
            {"outcome": {"categories": "a"}},
            "« outcome.categories » doit être une liste",
        ),
        (B.FulfilForm, {}, "Le champ « outcome » est obligatoire."),
        (AlertResponseBody, {"explanation": "Retard"}, "plan d'action"),
        (SelfEvaluationBody, {"answers": {"dpo": {"answer": "yes"}}}, "six questions"),
        (SelfEvaluationBody, {"answers": []}, "une entrée par question"),
    ],
)
def test_a_body_that_breaks_its_model_is_refused_in_french(
    model: type[ApiBody], data: Any, detail: str
) -> None:
    assert detail in _refusal(model, data)


def test_valid_bodies_reach_the_routes_typed_and_unchanged() -> None:
    extend = validated(B.ExtendBody, {"reason": "Archives", "extra_months": 2, "extra": 1})
    assert (extend.reason, extend.extra_months) == ("Archives", 2)
    sent = {"result": "partial", "kept": [{"category": "a", "legal_basis": "b"}], "x": 1}
    # What outcomes.validate reads: the fields as sent, nothing added (no defaults, no nulls).
    assert validated(B.FulfilBody, {"outcome": sent}).outcome.sent() == {
        "result": "partial",
        "kept": [{"category": "a", "legal_basis": "b"}],
    }
    assert set(B.DenyBody.reasons()) == set(DENIAL_REASONS)


def test_the_document_is_built_from_the_models(settings: Settings) -> None:
    create_app(settings)  # every API module declares its operations on import
    spec = document(server_url="http://testserver")
    schemas = spec["components"]["schemas"]
    refs = {
        ref.removeprefix("#/components/schemas/") for ref in _refs(json.loads(json.dumps(spec)))
    }
    assert refs <= set(schemas), refs - set(schemas)
    for name in ("ExtendBody", "DenyBody", "FulfilBody", "FulfilForm", "Delivery", "Problem"):
        assert name in schemas
    extend = spec["paths"]["/api/v1/deliveries/{delivery_id}/extend"]["post"]
    assert extend["operationId"] == "extend"
    assert extend["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ExtendBody"
    }
    # Optional fields may be left out, never sent as null: the document says so.
    assert schemas["OutcomeBody"]["properties"]["holds_data"] == {
        "title": "Holds Data",
        "type": "boolean",
    }
    assert "$defs" not in json.dumps(spec)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []
