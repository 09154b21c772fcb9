"""The register of organisations: signatories, and the organisations that are not (the CAF, the
Préfecture, a processor…) that declarations name as recipients.

A signatory stays a `Signatory` (its charter life, channel, DPO mailbox, deadlines and alerts);
an organisation that only receives data is an `Organisation`, which carries none of that, so no
query about signatories anywhere on the desk has to leave it out. A declaration names its
recipients by reference, "signatory:<slug>" or "organisation:<slug>"; the desk's team adds
organisations (role `register`, or an admin); open data publishes the whole register.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from desk.audit.log import record_action
from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.registry.joining import check_siret, slugify
from desk.registry.models import Declaration, Organisation, Signatory, SignatoryKind
from desk.registry.services import KIND_LABELS, charter_status_label, kind_label

SIGNATORY = "signatory"
ORGANISATION = "organisation"
NAME_MAX = 200
WEBSITE_MAX = 300
# The input guard's maximum for a field of this name (desk.web.limits.SHORT_MAX).
DESCRIPTION_MAX = 254
REFS_MAX = 100
MSG_UNKNOWN_REF = N_(
    "Un destinataire choisi n'est pas dans le registre des organisations : rechargez la page "
    "et choisissez-le dans la liste."
)
MSG_TOO_MANY = N_("Trop de destinataires : 100 au plus.")


@dataclass
class OrganisationForm:
    name: str = ""
    kind: str = ""
    siret: str = ""
    website: str = ""
    description: str = ""
    errors: dict[str, str] = field(default_factory=dict, init=False)


class OrganisationInvalid(DeskError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(N_("Le formulaire contient des erreurs : corrigez les champs signalés."))
        self.errors = errors


@dataclass(frozen=True)
class Entry:
    """One organisation of the register as pages and open data show it."""

    ref: str
    slug: str
    name: str
    kind: str
    is_signatory: bool
    charter_status: str
    siret: str
    website: str
    description: str

    @property
    def path(self) -> str:
        return f"/signataires/{self.slug}" if self.is_signatory else f"/organisations/{self.slug}"


@dataclass(frozen=True)
class Recipient:
    """A declaration's recipient as a page shows it: linked to its register page, or free text
    kept from before the register (`entry` None)."""

    name: str
    entry: Entry | None


def _signatory_entry(s: Signatory) -> Entry:
    return Entry(
        ref=f"{SIGNATORY}:{s.slug}", slug=s.slug, name=s.name, kind=s.kind.value,
        is_signatory=True, charter_status=s.charter_status.value, siret=s.siret,
        website=s.website, description=s.description,
    )  # fmt: skip


def _organisation_entry(o: Organisation) -> Entry:
    return Entry(
        ref=f"{ORGANISATION}:{o.slug}", slug=o.slug, name=o.name, kind=o.kind.value,
        is_signatory=False, charter_status="", siret=o.siret, website=o.website,
        description=o.description,
    )  # fmt: skip


async def register_entries(*, connection: BaseDBAsyncClient | None = None) -> list[Entry]:
    """Every organisation of the register, signatories first, each group by name."""
    signatories = Signatory.all().order_by("name")
    organisations = Organisation.all().order_by("name")
    if connection is not None:
        signatories, organisations = (
            signatories.using_db(connection),
            organisations.using_db(connection),
        )
    return [
        *(_signatory_entry(s) for s in await signatories),
        *(_organisation_entry(o) for o in await organisations),
    ]


async def entries_by_ref(*, connection: BaseDBAsyncClient | None = None) -> dict[str, Entry]:
    return {e.ref: e for e in await register_entries(connection=connection)}


def recipients_of(declaration: Declaration, entries: dict[str, Entry]) -> list[Recipient]:
    """The declaration's recipients: register entries (current names, linked), then the free
    text kept from before the register."""
    refs = list(declaration.recipient_refs or [])
    names = list(declaration.recipients or [])
    found: list[Recipient] = []
    for position, ref in enumerate(refs):
        entry = entries.get(ref)
        name = entry.name if entry else (names[position] if position < len(names) else ref)
        found.append(Recipient(name=name, entry=entry))
    found.extend(Recipient(name=name, entry=None) for name in legacy_recipients(declaration))
    return found


def legacy_recipients(declaration: Declaration) -> list[str]:
    """Free-text recipients typed before the register existed (after the registered ones)."""
    return list(declaration.recipients or [])[len(declaration.recipient_refs or []) :]


async def recipient_names(refs: list[str], *, connection: BaseDBAsyncClient) -> list[str]:
    """The names of chosen register entries, in order; DeskError for an unknown reference."""
    if len(refs) > REFS_MAX:
        raise DeskError(MSG_TOO_MANY)
    entries = await entries_by_ref(connection=connection)
    names: list[str] = []
    for ref in refs:
        entry = entries.get(ref)
        if entry is None:
            raise DeskError(MSG_UNKNOWN_REF)
        names.append(entry.name)
    return names


def _validated(form: OrganisationForm) -> dict[str, Any]:
    errors: dict[str, str] = {}
    name = " ".join(form.name.split())
    if not name:
        errors["name"] = N_("Indiquez le nom de l'organisation.")
    elif len(name) > NAME_MAX:
        errors["name"] = N_("Le nom est trop long : 200 caractères au plus.")
    if form.kind not in KIND_LABELS:
        errors["kind"] = N_("Choisissez le type d'organisation dans la liste.")
    siret = ""
    if form.siret.strip():
        try:
            siret = check_siret(form.siret)
        except ValueError as exc:
            errors["siret"] = str(exc)
    website = form.website.strip()
    if website and (
        not re.fullmatch(r"https?://[^\s/]+\.[^\s]+", website) or len(website) > WEBSITE_MAX
    ):
        errors["website"] = N_("L'adresse du site commence par https:// (300 caractères au plus).")
    description = form.description.strip()
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = N_("La présentation est trop longue : 254 caractères au plus.")
    if errors:
        raise OrganisationInvalid(errors)
    return {
        "name": name, "kind": SignatoryKind(form.kind), "siret": siret, "website": website,
        "description": description,
    }  # fmt: skip


async def _free_slug(name: str, conn: BaseDBAsyncClient) -> str:
    """A slug no signatory and no organisation has: one name, one address on the register."""
    base = slugify(name)
    slug, n = base, 1
    while (
        await Organisation.filter(slug=slug).using_db(conn).exists()
        or await Signatory.filter(slug=slug).using_db(conn).exists()
    ):
        n += 1
        slug = f"{base}-{n}"
    return slug


MSG_NAME_TAKEN = N_(
    "Une organisation du registre porte déjà ce nom : elle y est déjà, choisissez-la."
)


async def add_organisation(*, form: OrganisationForm, actor: str) -> Organisation:
    """Add a non-signatory organisation to the register (audited with who did it)."""
    values = _validated(form)
    async with in_transaction() as conn:
        taken = (
            await Organisation.filter(name=values["name"]).using_db(conn).exists()
            or await Signatory.filter(name=values["name"]).using_db(conn).exists()
        )
        if taken:
            raise OrganisationInvalid({"name": MSG_NAME_TAKEN})
        organisation = await Organisation.create(
            slug=await _free_slug(values["name"], conn), using_db=conn, **values
        )
        await record_action(
            action="register.organisation_added",
            actor=actor,
            subject=f"organisation:{organisation.id}",
            connection=conn,
        )
    return organisation


async def get_organisation(*, slug: str) -> Organisation | None:
    return await Organisation.filter(slug=slug).first()


async def declarations_sharing_with(ref: str) -> list[Declaration]:
    """The declarations (of every signatory) that name this entry as a recipient, by signatory."""
    found = [
        d
        for d in await Declaration.all().prefetch_related("signatory").order_by("id")
        if ref in (d.recipient_refs or [])
    ]
    found.sort(key=lambda d: (d.signatory.name, d.title))
    return found


# --- open data ---------------------------------------------------------------------------------


async def open_data_rows(*, base_url: str = "") -> list[dict[str, Any]]:
    """The register as open data: one row per organisation, signatory or not."""
    counts: dict[str, int] = {}
    for d in await Declaration.filter(retired_at=None).only("id", "recipient_refs"):
        for ref in dict.fromkeys(d.recipient_refs or []):
            counts[ref] = counts.get(ref, 0) + 1
    base = base_url.rstrip("/")
    return [
        {
            "slug": e.slug,
            "name": e.name,
            "kind": e.kind,
            "kind_label": kind_label(e.kind),
            "is_signatory": e.is_signatory,
            "charter_status": e.charter_status or None,
            "charter_status_label": charter_status_label(e.charter_status)
            if e.charter_status
            else None,
            "siret": e.siret or None,
            "website": e.website or None,
            "description": e.description or None,
            "receives_from_declarations": counts.get(e.ref, 0),
            "page_url": f"{base}{e.path}",
        }
        for e in await register_entries()
    ]
