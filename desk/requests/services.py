"""Filing rights requests: one request, one delivery per signatory, in one transaction.

The deliveries then move through the state machine by the functions of
desk.requests.transitions (one per transition).
"""

from __future__ import annotations

import secrets
from typing import Any, cast

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from desk.core import clock
from desk.core.errors import DeskError
from desk.registry.models import CharterStatus, Signatory
from desk.requests import assurance as assurance_levels
from desk.requests.filing import GROUP, in_open_transaction, write_filings
from desk.requests.filing_rows import Filing
from desk.requests.models import RequestKind, RightsRequest

MAX_UPLOAD_TYPES = {
    "application/json": ".json",
    "text/csv": ".csv",
    "application/pdf": ".pdf",
}


def new_reference() -> str:
    return f"DSK-{clock.now():%Y}-{secrets.token_hex(4).upper()}"


async def file_request(
    *,
    resident_id: int,
    kind: RequestKind,
    signatory_ids: list[int] | None = None,
    submission_key: str | None = None,
    filed_via: str = "online",
    actor: str = "resident",
    actor_detail: dict[str, Any] | None = None,
    assurance: str = "email",
    declaration_id: int | None = None,
    scope: dict[str, Any] | None = None,
    consent_withdrawal: bool = False,
    signatories_checked: bool = False,
) -> RightsRequest:
    """One request, one delivery per signatory; a repeated submission key returns the first.

    `actor` names who filed it in the audit trail (a mediator files on a resident's behalf).
    `assurance` says how the resident's identity was established (partners see it):
    "email" (login link), "franceconnect", or "in_person" (a mediator checked it).
    `declaration_id` and `scope` name the one declaration (purpose) an objection is about, and
    `consent_withdrawal` says it withdraws a consent given for it (desk.residents.purposes).
    `signatories_checked`: the caller has just read `signatory_ids` as signed signatories
    (desk.residents.services.signatory_ids_for), so they are not read again.
    """
    if assurance not in assurance_levels.LEVELS:
        raise ValueError(f"unknown assurance level {assurance!r}")
    if signatory_ids is not None and signatories_checked:
        targets = sorted(set(signatory_ids))
    else:
        signatories = Signatory.filter(charter_status=CharterStatus.SIGNED)
        if signatory_ids is not None:
            signatories = signatories.filter(id__in=signatory_ids)
        # Ids only: the deliveries need nothing else, and a model per signatory was a tenth
        # of the filing's time (bench/erasure.py).
        targets = [cast(int, sid) for sid in await signatories.values_list("id", flat=True)]
    if not targets:
        raise DeskError("Choisissez au moins un signataire de la charte.")
    values: dict[str, Any] = {
        "resident_id": resident_id,
        "kind": kind,
        "filed_via": filed_via,
        "submission_key": submission_key,
        "assurance": assurance,
        "declaration_id": declaration_id,
        "scope": scope,
        "consent_withdrawal": consent_withdrawal,
    }
    # A reference drawn twice (32 random bits a year) is drawn again.
    for _ in range(3):
        filing = Filing(
            request={**values, "reference": new_reference()},
            targets=targets,
            received=clock.now(),
            actor=actor,
            actor_detail=actor_detail or {},
        )
        if in_open_transaction():
            async with in_transaction() as conn:
                request = (await write_filings([filing], conn))[0]
        else:
            # Written with the filings of the moment, one commit for all (desk.requests.filing).
            request = await GROUP.file(filing)
        if request is not None:
            return request
        # A repeated submission key is found by its unique index, not looked up first: the
        # row was not written, and the first request is returned (a double click, or a
        # concurrent double submission that won).
        if submission_key:
            existing = await RightsRequest.filter(submission_key=submission_key).first()
            if existing is not None:
                if existing.resident_id != resident_id:  # type: ignore[attr-defined]
                    raise DeskError("Cette demande a déjà été envoyée.", code="conflict")
                return existing
    raise IntegrityError("rights_request: no free reference")
