"""A partner's answer as data (the API, the answer page, a polled adapter, a letter typed in):
one type per answer, and `answer` routes it to its transition (desk.requests.transitions)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from desk.receipts.keys import Keyring
from desk.requests.effects import UploadedFile
from desk.requests.models import Delivery
from desk.requests.transitions import (
    DEFAULT_DOWNLOAD_MAX_AGE,
    JobSpec,
    acknowledge,
    deny,
    extend,
    fulfil,
    need_info,
)


@dataclass(frozen=True)
class Acknowledge:
    action = "acknowledge"


@dataclass(frozen=True)
class Extend:
    reason: str | None
    extra_months: int = 2
    action = "extend"


@dataclass(frozen=True)
class NeedInfo:
    question: str | None
    # The question is about the resident's identity: the deadline pauses until the answer.
    identity: bool = False
    action = "need_info"


@dataclass(frozen=True)
class Fulfil:
    outcome: Mapping[str, Any]
    file: UploadedFile | None = None
    action = "fulfil"


@dataclass(frozen=True)
class Deny:
    reason: str | None
    detail: str | None = None
    action = "deny"


PartnerAnswer = Acknowledge | Extend | NeedInfo | Fulfil | Deny


async def answer(
    *,
    delivery_id: int,
    answer: PartnerAnswer,
    actor: str,
    keyring: Keyring,
    issuer: str,
    download_max_age: int = DEFAULT_DOWNLOAD_MAX_AGE,
    signatory_id: int | None = None,
    jobs: Sequence[JobSpec] = (),
) -> Delivery:
    """Apply a partner's answer through its transition."""
    common: dict[str, Any] = {
        "delivery_id": delivery_id,
        "actor": actor,
        "signatory_id": signatory_id,
        "jobs": jobs,
    }
    match answer:
        case Acknowledge():
            return await acknowledge(**common)
        case Extend(reason=reason, extra_months=months):
            return await extend(**common, reason=reason, extra_months=months)
        case NeedInfo(question=question, identity=identity):
            return await need_info(**common, question=question, identity=identity)
        case Fulfil(outcome=outcome, file=file):
            return await fulfil(
                **common,
                outcome=outcome,
                file=file,
                keyring=keyring,
                issuer=issuer,
                download_max_age=download_max_age,
            )
        case Deny(reason=reason, detail=detail):
            return await deny(
                **common, reason=reason, detail=detail, keyring=keyring, issuer=issuer
            )
