"""Declarations as their signatory writes them, every version kept ("transparency over time").

A declaration is created, edited or retired only through these functions: each writes the
declaration, a `DeclarationVersion` holding the whole declaration as it now stands, and an
audit record, in one transaction. The public history page and the open data read the versions.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from desk.audit.log import record_action
from desk.core import clock
from desk.core.errors import DeskError
from desk.core.legal_bases import LEGAL_BASIS_LABELS
from desk.core.translatable import N_
from desk.registry.models import Declaration, DeclarationDocument, DeclarationVersion
from desk.registry.organisations import legacy_recipients, recipient_names

# The fields a version keeps, in the order the history page shows their changes.
VERSIONED = (
    "title", "purposes", "legal_basis", "data_categories", "retention", "recipients", "source",
    "automated_decisions", "algorithm_explanation", "dpia_summary", "dpia_date", "dpia_url",
    "results_year", "results_statement", "dpia_pdf_sha256",
)  # fmt: skip
FIELD_LABELS: dict[str, str] = {
    "title": N_("Titre"),
    "purposes": N_("À quoi servent ces données"),
    "legal_basis": N_("Base légale"),
    "data_categories": N_("Données concernées"),
    "retention": N_("Durée de conservation"),
    "recipients": N_("Destinataires"),
    "source": N_("Origine des données"),
    "automated_decisions": N_("Décisions automatisées"),
    "algorithm_explanation": N_("Explication de l'algorithme"),
    "dpia_summary": N_("Étude d'impact : résumé"),
    "dpia_date": N_("Étude d'impact : date"),
    "dpia_url": N_("Étude d'impact : lien"),
    "results_year": N_("Résultats de l'usage des données : année"),
    "results_statement": N_("Résultats de l'usage des données"),
    "dpia_pdf_sha256": N_("Étude d'impact : document PDF (empreinte SHA-256)"),
}
CHANGE_LABELS: dict[str, str] = {
    "created": N_("Création"),
    "edited": N_("Modification"),
    "retired": N_("Retrait : ce traitement a pris fin"),
}
SHORT_MAX = 200
TEXT_MAX = 4000
CODE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
MSG_NOT_FOUND = N_("Cette déclaration n'existe pas, ou n'appartient pas à votre organisation.")
MSG_RETIRED = N_("Cette déclaration est retirée : elle ne peut plus être modifiée.")
MSG_NEW_FREE_TEXT = N_(
    "Les destinataires ne s'écrivent plus en texte libre : choisissez-les dans le registre des "
    "organisations (demandez à l'équipe du guichet d'y ajouter celle qui manque)."
)
# The impact study as a PDF: at most this size, and a PDF indeed (its first bytes).
PDF_MAX_BYTES = 5 * 1024 * 1024
PDF_MAGIC = b"%PDF-"
MSG_PDF_TOO_LARGE = N_("Le document PDF est trop lourd : 5 Mo au plus.")
MSG_PDF_EMPTY = N_("Le fichier envoyé est vide : choisissez le PDF de l'étude d'impact.")
MSG_PDF_NOT_PDF = N_(
    "Le fichier envoyé n'est pas un PDF : enregistrez l'étude d'impact au format PDF et "
    "envoyez ce fichier-là."
)
MSG_CODE_TAKEN = N_(
    "Votre organisation a déjà une déclaration avec ce code : choisissez-en un autre."
)


class DeclarationInvalid(DeskError):
    def __init__(self, errors: dict[str, str], *, status: int = 422) -> None:
        super().__init__(N_("Le formulaire contient des erreurs : corrigez les champs signalés."))
        self.errors = errors
        self.status = status


def check_pdf(content: bytes) -> bytes:
    """The impact study's file when it is a PDF of 5 MB at most; else DeclarationInvalid
    (413 too large, 422 empty or not a PDF). `content` may hold one byte past the limit."""
    if len(content) > PDF_MAX_BYTES:
        raise DeclarationInvalid({"dpia_pdf": MSG_PDF_TOO_LARGE}, status=413)
    if not content:
        raise DeclarationInvalid({"dpia_pdf": MSG_PDF_EMPTY})
    if not content.startswith(PDF_MAGIC):
        raise DeclarationInvalid({"dpia_pdf": MSG_PDF_NOT_PDF})
    return content


@dataclass
class DeclarationForm:
    """The declaration form as typed: lists one item per line.

    `recipient_refs` are the recipients chosen from the register, one reference per line;
    `recipients` is the free text kept from before the register (the form only lets people keep
    or drop those lines; services given new lines outside the space still store them).
    """

    code: str = ""
    title: str = ""
    purposes: str = ""
    legal_basis: str = ""
    data_categories: str = ""
    retention: str = ""
    recipients: str = ""
    source: str = ""
    automated_decisions: str = ""
    algorithm_explanation: str = ""
    dpia_summary: str = ""
    dpia_date: str = ""
    dpia_url: str = ""
    results_year: str = ""
    results_statement: str = ""
    recipient_refs: str = ""
    # The impact study's new PDF (already read, at most one byte past the limit), or None.
    dpia_pdf: bytes | None = None
    dpia_pdf_remove: str = ""
    errors: dict[str, str] = field(default_factory=dict, init=False)

    @classmethod
    def of(cls, declaration: Declaration) -> DeclarationForm:
        snap = snapshot(declaration)
        values: dict[str, Any] = {
            name: "\n".join(value)
            if isinstance(value, list)
            else ("" if value is None else str(value))
            for name, value in snap.items()
            if name != "dpia_pdf_sha256"
        }
        values["recipients"] = "\n".join(legacy_recipients(declaration))
        values["recipient_refs"] = "\n".join(declaration.recipient_refs or [])
        return cls(code=declaration.code, **values)


def snapshot(declaration: Declaration) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in VERSIONED:
        value = getattr(declaration, name)
        values[name] = value.isoformat() if isinstance(value, date) else value
    values["data_categories"] = list(declaration.data_categories or [])
    values["recipients"] = list(declaration.recipients or [])
    # Not compared between versions (the names above are): kept so a version says which
    # register entries it named.
    values["recipient_refs"] = list(declaration.recipient_refs or [])
    return values


def _blank(value: Any) -> Any:
    """Empty is empty: a field a version did not hold yet reads like an empty one."""
    return None if value in ("", [], None) else value


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [name for name in VERSIONED if _blank(before.get(name)) != _blank(after.get(name))]


def _lines(raw: str) -> list[str]:
    return list(dict.fromkeys(line.strip() for line in raw.splitlines() if line.strip()))


def _validated(form: DeclarationForm, *, new: bool) -> dict[str, Any]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    if new:
        code = form.code.strip().lower()
        if not CODE.fullmatch(code):
            errors["code"] = N_(
                "Le code est fait de lettres minuscules sans accent, de chiffres et de tirets "
                "(par exemple gestion-abonnes), 64 caractères au plus."
            )
        values["code"] = code
    for name, message in (
        ("title", N_("Indiquez le titre du traitement.")),
        ("purposes", N_("Indiquez à quoi servent ces données.")),
        ("retention", N_("Indiquez combien de temps ces données sont gardées.")),
    ):
        value = getattr(form, name).strip()
        if not value:
            errors[name] = message
        values[name] = value
    if len(values["title"]) > SHORT_MAX:
        errors["title"] = N_("Le titre est trop long : 200 caractères au plus.")
    if form.legal_basis not in LEGAL_BASIS_LABELS:
        errors["legal_basis"] = N_("Choisissez la base légale dans la liste.")
    values["legal_basis"] = form.legal_basis
    for name in ("source", "automated_decisions", "algorithm_explanation", "dpia_summary",
                 "results_statement"):  # fmt: skip
        values[name] = getattr(form, name).strip()
    values["recipient_refs"] = _lines(form.recipient_refs)
    for name in ("data_categories", "recipients"):
        items = _lines(getattr(form, name))
        if any(len(item) > SHORT_MAX for item in items):
            errors[name] = N_("Une ligne est trop longue : 200 caractères au plus par ligne.")
        values[name] = items
    for name in VERSIONED:
        if isinstance(values.get(name), str) and len(values[name]) > TEXT_MAX:
            errors[name] = N_("Ce texte est trop long : 4 000 caractères au plus.")
    url = form.dpia_url.strip()
    if url and (not re.fullmatch(r"https?://[^\s/]+\.\S+", url) or len(url) > 300):
        errors["dpia_url"] = N_(
            "Le lien vers l'étude d'impact doit commencer par https:// (300 caractères au plus)."
        )
    values["dpia_url"] = url
    values["dpia_date"] = None
    if form.dpia_date.strip():
        try:
            values["dpia_date"] = date.fromisoformat(form.dpia_date.strip())
        except ValueError:
            errors["dpia_date"] = N_("La date de l'étude d'impact s'écrit AAAA-MM-JJ (2025-03-31).")
    values["results_year"] = None
    year = form.results_year.strip()
    if year:
        if not (year.isascii() and year.isdigit() and 2000 <= int(year) <= 2100):
            errors["results_year"] = N_("L'année s'écrit avec 4 chiffres (par exemple 2025).")
        else:
            values["results_year"] = int(year)
    if values["automated_decisions"] and not values["algorithm_explanation"]:
        errors["algorithm_explanation"] = N_(
            "Vous déclarez des décisions automatisées : expliquez comment l'algorithme "
            "fonctionne (principe 9 de la charte)."
        )
    if errors:
        raise DeclarationInvalid(errors)
    if form.dpia_pdf is not None:
        check_pdf(form.dpia_pdf)
    return values


async def _recipients(values: dict[str, Any], *, conn: BaseDBAsyncClient) -> None:
    """Registered recipients' names first, then the free text kept (see Declaration)."""
    try:
        names = await recipient_names(values["recipient_refs"], connection=conn)
    except DeskError as exc:
        raise DeclarationInvalid({"recipient_refs": exc.message}) from exc
    values["recipients"] = [*names, *values["recipients"]]


async def _document(
    declaration: Declaration, form: DeclarationForm, *, conn: BaseDBAsyncClient
) -> None:
    """Store the uploaded PDF (each distinct file once) and point the declaration at it."""
    if form.dpia_pdf is not None:
        digest = hashlib.sha256(form.dpia_pdf).hexdigest()
        if (
            not await DeclarationDocument.filter(declaration_id=declaration.id, sha256=digest)
            .using_db(conn)
            .exists()
        ):
            await DeclarationDocument.create(
                declaration=declaration,
                sha256=digest,
                size=len(form.dpia_pdf),
                content=form.dpia_pdf,
                using_db=conn,
            )
        declaration.dpia_pdf_sha256 = digest
    elif form.dpia_pdf_remove:
        declaration.dpia_pdf_sha256 = ""


async def current_document(*, slug: str, code: str) -> DeclarationDocument | None:
    """The impact study's PDF a declaration now points at (public), or None."""
    declaration = await Declaration.filter(signatory__slug=slug, code=code).first()
    if declaration is None or not declaration.dpia_pdf_sha256:
        return None
    return await DeclarationDocument.filter(
        declaration_id=declaration.id, sha256=declaration.dpia_pdf_sha256
    ).first()


async def _version(
    declaration: Declaration, *, change: str, conn: BaseDBAsyncClient
) -> DeclarationVersion:
    last = (
        await DeclarationVersion.filter(declaration_id=declaration.id)
        .using_db(conn)
        .order_by("-number")
        .first()
    )
    return await DeclarationVersion.create(
        declaration=declaration,
        number=(last.number + 1) if last else 1,
        change=change,
        snapshot=snapshot(declaration),
        using_db=conn,
    )


async def record_first_version(declaration: Declaration, *, connection: BaseDBAsyncClient) -> None:
    """Version 1 of a declaration made outside the space (the demo register), so its public
    history starts where the register does."""
    if (
        not await DeclarationVersion.filter(declaration_id=declaration.id)
        .using_db(connection)
        .exists()
    ):
        await _version(declaration, change="created", conn=connection)


async def create_declaration(
    *, signatory_id: int, form: DeclarationForm, actor: str
) -> Declaration:
    values = _validated(form, new=True)
    async with in_transaction() as conn:
        if (
            await Declaration.filter(signatory_id=signatory_id, code=values["code"])
            .using_db(conn)
            .exists()
        ):
            raise DeclarationInvalid({"code": MSG_CODE_TAKEN})
        await _recipients(values, conn=conn)
        declaration = await Declaration.create(signatory_id=signatory_id, using_db=conn, **values)
        if form.dpia_pdf is not None:
            await _document(declaration, form, conn=conn)
            await declaration.save(using_db=conn, update_fields=["dpia_pdf_sha256"])
        await _version(declaration, change="created", conn=conn)
        await record_action(
            action="declaration.create",
            actor=actor,
            subject=f"declaration:{declaration.id}",
            connection=conn,
        )
    return declaration


async def _own(signatory_id: int, declaration_id: int, conn: BaseDBAsyncClient) -> Declaration:
    declaration = (
        await Declaration.filter(id=declaration_id, signatory_id=signatory_id)
        .using_db(conn)
        .select_for_update()
        .first()
    )
    if declaration is None:
        raise DeskError(MSG_NOT_FOUND, code="not_found")
    if declaration.retired_at is not None:
        raise DeskError(MSG_RETIRED, code="conflict")
    return declaration


async def edit_declaration(
    *, signatory_id: int, declaration_id: int, form: DeclarationForm, actor: str
) -> Declaration:
    """Save the new text; a version only when something changed."""
    values = _validated(form, new=False)
    async with in_transaction() as conn:
        declaration = await _own(signatory_id, declaration_id, conn)
        # Free text stays only as it was: lines may be dropped, none added.
        if set(values["recipients"]) - set(legacy_recipients(declaration)):
            raise DeclarationInvalid({"recipients": MSG_NEW_FREE_TEXT})
        await _recipients(values, conn=conn)
        before = snapshot(declaration)
        declaration.update_from_dict(values)
        await _document(declaration, form, conn=conn)
        if changed_fields(before, snapshot(declaration)):
            await declaration.save(using_db=conn)
            await _version(declaration, change="edited", conn=conn)
            await record_action(
                action="declaration.edit",
                actor=actor,
                subject=f"declaration:{declaration.id}",
                detail={"fields": changed_fields(before, snapshot(declaration))},
                connection=conn,
            )
    return declaration


async def retire_declaration(*, signatory_id: int, declaration_id: int, actor: str) -> Declaration:
    async with in_transaction() as conn:
        declaration = await _own(signatory_id, declaration_id, conn)
        declaration.retired_at = clock.now()
        await declaration.save(using_db=conn, update_fields=["retired_at", "updated_at"])
        await _version(declaration, change="retired", conn=conn)
        await record_action(
            action="declaration.retire",
            actor=actor,
            subject=f"declaration:{declaration.id}",
            connection=conn,
        )
    return declaration
