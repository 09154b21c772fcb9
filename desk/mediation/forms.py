"""The mediators' session form: its blank state, what was typed, and its parsing."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData

from desk.core.errors import DeskError
from desk.mediation import services
from desk.mediation.models import IdentityCheck
from desk.web.limits import digits


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def values_of(form: FormData, name: str) -> list[str]:
    return [v.strip() for v in form.getlist(name) if isinstance(v, str)]


def blank_session_form() -> dict[str, Any]:
    return {
        "mode": "sans_email",
        "email": "",
        "full_name": "",
        "street": "",
        "street_more": "",
        "postcode": "",
        "city": "",
        "help_point_only": False,
        "identity_check": "",
        "kinds": [],
        "scope": "all",
        "signatories": [],
        "months": "3",
        "paper_signed": False,
    }


def read_session_form(form: FormData) -> dict[str, Any]:
    return {
        "mode": field(form, "mode") or "sans_email",
        "email": field(form, "email")[:254],
        "full_name": field(form, "full_name")[:300],
        "street": field(form, "street")[:300],
        "street_more": field(form, "street_more")[:300],
        "postcode": field(form, "postcode")[:20],
        "city": field(form, "city")[:300],
        "help_point_only": field(form, "help_point_only") == "1",
        "identity_check": field(form, "identity_check"),
        "kinds": values_of(form, "kinds"),
        "scope": field(form, "scope") or "all",
        "signatories": values_of(form, "signatory"),
        "months": field(form, "months"),
        "paper_signed": field(form, "paper_signed") == "1",
    }


def parse_session(values: dict[str, Any]) -> tuple[IdentityCheck, services.MandateInput]:
    try:
        check = IdentityCheck(values["identity_check"])
    except ValueError as exc:
        raise DeskError("Indiquez comment l'identité de la personne a été vérifiée.") from exc
    kinds = services.parse_kinds(values["kinds"])
    ids: list[int] | None = None
    if values["scope"] == "some":
        if not all(digits(v) and len(v) < 10 for v in values["signatories"]):
            raise DeskError("Un des organismes choisis est inconnu.")
        ids = [int(v) for v in values["signatories"]]
    months = int(values["months"]) if digits(values["months"]) and len(values["months"]) < 3 else 0
    return check, services.MandateInput(
        kinds=kinds, signatory_ids=ids, months=months, paper_signed=values["paper_signed"]
    )
