"""What every charter page module shares: labels for the templates, headers, path parsing."""

from __future__ import annotations

import re
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request

from desk.charter import alerts, committee, complaints, selfeval
from desk.core.translatable import N_
from desk.registry.models import Signatory
from desk.web.limits import row_id

SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
NOT_FOUND_FR = N_(
    "Aucun signataire de la charte ne correspond à cette adresse. "
    "Retrouvez tous les signataires sur la page « Signataires »."
)
PRIVATE_HEADERS = {"cache-control": "no-store", "x-robots-tag": "noindex, nofollow"}
OPEN_DATA_HEADERS = {"access-control-allow-origin": "*", "cache-control": "public, max-age=300"}


def labels() -> dict[str, Any]:
    return {
        "LEVEL_LABELS": alerts.LEVEL_LABELS,
        "LEVEL_EXPLANATIONS": alerts.LEVEL_EXPLANATIONS,
        "OUTCOME_LABELS": committee.OUTCOME_LABELS,
        "QUESTIONS": selfeval.QUESTIONS,
        "ANSWER_LABELS": selfeval.ANSWER_LABELS,
        "COMPLAINT_STATUS_LABELS": complaints.STATUS_LABELS,
        "COMPLAINT_OUTCOMES": complaints.OUTCOMES,
    }


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def int_param(request: Request, name: str) -> int:
    value = row_id(str(request.path_params.get(name, "")))
    if value is None:
        raise HTTPException(404, "Page introuvable.")
    return value


async def signatory_of(request: Request) -> Signatory:
    slug = str(request.path_params["slug"])
    signatory = await Signatory.filter(slug=slug).first() if SLUG.fullmatch(slug) else None
    if signatory is None:
        raise HTTPException(404, NOT_FOUND_FR)
    return signatory
