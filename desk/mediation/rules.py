"""What mediation allows and how it says no: durations, messages, errors, typed inputs."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from desk.core import clock
from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.mediation.models import (
    IdentityCheck,
)
from desk.requests.models import (
    RequestKind,
)
from desk.residents.models import Resident

RETENTION_MONTHS = 6
MANDATE_MONTHS = (1, 3, 6)
# What a signatory does that the resident must hear about.
NOTEWORTHY = ("extend", "fulfil", "deny", "need_info")
TOLD_CHANNELS = ("help_point", "letter")

IDENTITY_LABELS: dict[str, str] = {
    IdentityCheck.DOCUMENT_SHOWN: N_("pièce d'identité montrée (rien n'est copié ni noté)"),
    IdentityCheck.KNOWN_TO_HELP_POINT: N_("personne connue du point d'aide"),
    IdentityCheck.FRANCECONNECT_ON_SITE: N_("connexion FranceConnect sur place"),
}

NOT_YOURS = N_(
    "Cette personne est introuvable parmi les habitants que vous accompagnez. Un médiateur ne "
    "voit que les personnes avec qui il a ouvert une séance."
)
NO_MANDATE = N_(
    "Le mandat de cette personne a expiré : ouvrez une nouvelle séance avec elle, en sa "
    "présence, pour le renouveler."
)
SESSION_CLOSED = N_(
    "La séance avec cette personne est terminée : une demande se dépose en sa présence. "
    "Ouvrez une nouvelle séance pour en déposer une."
)
PAPER_UNSIGNED = N_(
    "Le mandat papier n'est pas encore signé : imprimez-le, faites-le signer par la personne, "
    "puis indiquez qu'il est signé."
)
CONSENT_PENDING = N_(
    "La personne n'a pas encore donné son accord : tant qu'elle ne vous a pas lu le code reçu "
    "dans sa messagerie (ou confirmé depuis son espace), vous ne voyez rien de son compte et ne "
    "pouvez rien déposer pour elle."
)
MANDATE_REVOKED = N_(
    "Le mandat de cette personne a été retiré : vous ne voyez plus son dossier et ne pouvez "
    "plus rien déposer pour elle. Si elle le souhaite, ouvrez une nouvelle séance avec elle, en "
    "sa présence."
)
KIND_OUTSIDE = N_("Le mandat de cette personne ne couvre pas ce type de demande.")
SIGNATORY_OUTSIDE = N_("Le mandat de cette personne ne couvre pas tous les organismes choisis.")


class MediationRefused(DeskError):
    def __init__(self, message: str, *, code: str = "forbidden") -> None:
        super().__init__(message, code=code)


class ConsentPending(MediationRefused):
    """The mediator's session with this resident waits for the resident's consent."""

    def __init__(self, resident_id: int) -> None:
        super().__init__(CONSENT_PENDING, code="forbidden")
        self.resident_id = resident_id


class DuplicateResident(DeskError):
    """The person looks already known: the form proposes the existing record."""

    def __init__(self, existing: list[Resident]) -> None:
        super().__init__(
            N_(
                "Une personne avec le même nom et la même adresse est déjà enregistrée. "
                "Utilisez sa fiche, ou confirmez qu'il s'agit d'une autre personne."
            ),
            code="conflict",
        )
        self.existing = existing


# --- inputs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactInput:
    full_name: str
    street: str = ""
    street_more: str = ""
    postcode: str = ""
    city: str = ""
    reached_at_help_point: bool = False

    @property
    def address_lines(self) -> list[str]:
        town = f"{self.postcode.strip()} {self.city.strip().upper()}".strip()
        return [x for x in (self.street.strip(), self.street_more.strip(), town) if x]

    @property
    def address_complete(self) -> bool:
        return bool(
            self.street.strip()
            and re.fullmatch(r"\d{5}", self.postcode.strip())
            and self.city.strip()
        )


@dataclass(frozen=True)
class MandateInput:
    kinds: list[RequestKind]
    # None: every signatory of the charter.
    signatory_ids: list[int] | None
    months: int
    paper_signed: bool = False


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]", "", bare.lower())


def match_key(full_name: str, address_lines: list[str]) -> str:
    """Name and address folded (case, accents, spaces, punctuation) to find duplicates."""
    return f"{_fold(full_name)}|{_fold(''.join(address_lines))}"[:200]


def end_of_day(moment: datetime) -> datetime:
    """Midnight at the end of the local (Paris) day of `moment`, in UTC."""
    local = clock.local(moment)
    tomorrow = local.date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(0, 0), tzinfo=clock.PARIS).astimezone(moment.tzinfo)


def parse_kinds(raw: list[str]) -> list[RequestKind]:
    kinds: list[RequestKind] = []
    for value in raw:
        try:
            kinds.append(RequestKind(value))
        except ValueError as exc:
            raise DeskError("Type de demande inconnu.") from exc
    return kinds
