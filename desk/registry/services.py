"""The public register: who signed the charter and what each signatory declares.

Everything here is public (charter principles 3, 7, 8, 9), except each signatory's adapter
settings, which may hold secrets and never leave this module's callers' hands.
"""

from __future__ import annotations

from typing import Any

# The legal bases live in desk.core.legal_bases; still importable from here (residents.views,
# organisations.routes and tests import them so).
from desk.core.legal_bases import LEGAL_BASIS_EXPLANATIONS as LEGAL_BASIS_EXPLANATIONS
from desk.core.legal_bases import LEGAL_BASIS_LABELS as LEGAL_BASIS_LABELS
from desk.core.legal_bases import legal_basis_label
from desk.core.translatable import N_
from desk.registry.models import (
    ApplicationState,
    CharterStatus,
    Declaration,
    Signatory,
    SignatoryKind,
)
from desk.web.csv_export import csv_text

KIND_LABELS: dict[str, str] = {
    SignatoryKind.PUBLIC_BODY: N_("Collectivité ou organisme public"),
    SignatoryKind.PUBLIC_OPERATOR: N_("Opérateur de service public"),
    SignatoryKind.SOCIAL_HOUSING: N_("Bailleur social"),
    SignatoryKind.COMPANY: N_("Entreprise"),
    SignatoryKind.ASSOCIATION: N_("Association"),
}

CHARTER_STATUS_LABELS: dict[str, str] = {
    CharterStatus.CANDIDATE: N_("Candidat"),
    CharterStatus.CAPACITY_SHOWN: N_("Capacité démontrée"),
    CharterStatus.SIGNED: "Signataire",
    CharterStatus.SUSPENDED: N_("Suspendu"),
    CharterStatus.EXCLUDED: N_("Exclu"),
    CharterStatus.LEFT: N_("A quitté la charte"),
}

APPLICATION_STATE_LABELS: dict[str, str] = {
    ApplicationState.RECEIVED: N_("reçue, à examiner"),
    ApplicationState.MORE_INFO: N_("compléments demandés"),
    ApplicationState.ACCEPTED: N_("acceptée"),
    ApplicationState.REFUSED: N_("refusée"),
}

CHARTER_STATUS_EXPLANATIONS: dict[str, str] = {
    CharterStatus.CANDIDATE: N_(
        "Souhaite signer la charte : l'organisation prépare ses déclarations et sa première "
        "auto-évaluation. Vos demandes ne lui sont pas encore transmises par le guichet."
    ),
    CharterStatus.CAPACITY_SHOWN: N_(
        "A démontré sa capacité à respecter la charte (déclarations et auto-évaluation "
        "examinées par l'équipe du guichet) ; elle ne l'a pas encore signée."
    ),
    CharterStatus.LEFT: N_(
        "A quitté la charte : vos demandes ne lui sont plus transmises par le guichet."
    ),
    CharterStatus.SIGNED: N_("A signé la charte et reçoit vos demandes."),
    CharterStatus.SUSPENDED: N_(
        "Ne tient pas ses engagements pour l'instant : le comité d'éthique "
        "l'a suspendu. Vos demandes ne lui sont plus transmises par le guichet."
    ),
    CharterStatus.EXCLUDED: N_(
        "N'a pas tenu ses engagements malgré les alertes : il ne fait plus partie des signataires."
    ),
}

# How a signatory receives the requests the desk forwards, by adapter name.
CHANNEL_LABELS: dict[str, str] = {
    "email": N_("par courriel au délégué à la protection des données"),
    "simulated": N_("automatiquement (démonstration)"),
    "webhook": N_("automatiquement, par son propre logiciel"),
    "rest": N_("automatiquement, par son propre logiciel"),
    "postal": N_("par courrier postal"),
}
CHANNEL_FALLBACK = N_("par un moyen convenu avec le guichet")

CSV_COLUMNS = [
    "signatory_slug", "signatory_name", "signatory_kind", "signatory_kind_label", "charter_status",
    "charter_status_label", "signed_on", "dpo_email", "website", "channel", "declaration_code",
    "declaration_title", "purposes", "legal_basis", "legal_basis_label", "data_categories",
    "retention", "recipients", "source", "dpia_summary", "declaration_updated_at",
]  # fmt: skip

# Lists (categories, recipients) are joined with this in the CSV; none of our values contains it.
CSV_LIST_SEPARATOR = " | "


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


def charter_status_label(status: str) -> str:
    return CHARTER_STATUS_LABELS.get(status, status)


def channel_label(adapter: str) -> str:
    return CHANNEL_LABELS.get(adapter, CHANNEL_FALLBACK)


async def list_signatories(*, include_excluded: bool = True) -> list[Signatory]:
    """Every signatory, by name, with its declarations prefetched."""
    query = Signatory.all()
    if not include_excluded:
        query = query.exclude(charter_status=CharterStatus.EXCLUDED)
    return list(await query.order_by("name").prefetch_related("declarations"))


async def get_signatory(*, slug: str) -> Signatory | None:
    return (
        await Signatory.filter(slug=slug).prefetch_related("declarations", "status_changes").first()
    )


def declaration_record(declaration: Declaration) -> dict[str, Any]:
    return {
        "code": declaration.code,
        "title": declaration.title,
        "purposes": declaration.purposes,
        "legal_basis": declaration.legal_basis,
        "legal_basis_label": legal_basis_label(declaration.legal_basis),
        "data_categories": list(declaration.data_categories or []),
        "retention": declaration.retention,
        "recipients": list(declaration.recipients or []),
        # The same recipients as entries of the register of organisations (/organisations).
        "recipient_refs": list(declaration.recipient_refs or []),
        "source": declaration.source,
        "dpia_summary": declaration.dpia_summary,
        "updated_at": declaration.updated_at.isoformat() if declaration.updated_at else None,
    }


def signatory_record(signatory: Signatory, *, base_url: str = "") -> dict[str, Any]:
    """The public face of a signatory (declarations must be prefetched). No adapter settings."""
    return {
        "slug": signatory.slug,
        "name": signatory.name,
        "kind": signatory.kind.value,
        "kind_label": kind_label(signatory.kind),
        "charter_status": signatory.charter_status.value,
        "charter_status_label": charter_status_label(signatory.charter_status),
        "signed_on": signatory.signed_on.isoformat() if signatory.signed_on else None,
        "charter_version": signatory.charter_version,
        "siret": signatory.siret,
        "description": signatory.description,
        "website": signatory.website,
        "dpo_email": signatory.dpo_email,
        "accepted_identifiers": list(signatory.accepted_identifiers or []),
        "channel": signatory.adapter,
        "channel_label": channel_label(signatory.adapter),
        "page_url": f"{base_url.rstrip('/')}/signataires/{signatory.slug}",
        "declarations": [declaration_record(d) for d in signatory.declarations],
    }


async def open_data_rows(*, base_url: str = "") -> list[dict[str, Any]]:
    """The register as open data: one record per signatory, its declarations nested."""
    return [signatory_record(s, base_url=base_url) for s in await list_signatories()]


def csv_rows(records: list[dict[str, Any]]) -> list[dict[str, str]]:
    """One row per declaration, with its signatory's columns; a signatory with none gets one row."""
    rows: list[dict[str, str]] = []
    for record in records:
        head = {
            "signatory_slug": record["slug"],
            "signatory_name": record["name"],
            "signatory_kind": record["kind"],
            "signatory_kind_label": record["kind_label"],
            "charter_status": record["charter_status"],
            "charter_status_label": record["charter_status_label"],
            "signed_on": record["signed_on"] or "",
            "dpo_email": record["dpo_email"],
            "website": record["website"],
            "channel": record["channel"],
        }
        for declaration in record["declarations"] or [None]:
            row = dict.fromkeys(CSV_COLUMNS, "") | head
            if declaration is not None:
                row |= {
                    "declaration_code": declaration["code"],
                    "declaration_title": declaration["title"],
                    "purposes": declaration["purposes"],
                    "legal_basis": declaration["legal_basis"],
                    "legal_basis_label": declaration["legal_basis_label"],
                    "data_categories": CSV_LIST_SEPARATOR.join(declaration["data_categories"]),
                    "retention": declaration["retention"],
                    "recipients": CSV_LIST_SEPARATOR.join(declaration["recipients"]),
                    "source": declaration["source"],
                    "dpia_summary": declaration["dpia_summary"],
                    "declaration_updated_at": declaration["updated_at"] or "",
                }
            rows.append(row)
    return rows


async def open_data_csv() -> str:
    """The register as CSV text (RFC 4180: comma, double quotes, CRLF), with a header row."""
    return csv_text(CSV_COLUMNS, csv_rows(await open_data_rows()))
