"""A copy people can read: the machine file a signatory sent (JSON, CSV) as headed fields and
tables, beside what each of its declarations says it does with data, in its own words.

The same model gives the HTML page (templates/resident/copy.html) and the PDF
(`pdf_blocks`, written by desk.web.pdf). A PDF copy is shown as it came: it is already a
document to read.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from desk.core.i18n import Message
from desk.core.legal_bases import LEGAL_BASIS_EXPLANATIONS, legal_basis_label
from desk.core.translatable import N_
from desk.registry.models import Declaration
from desk.web.pdf import Block

# Past these, the page says the rest is in the file (a copy is a few megabytes at most).
MAX_VALUES = 3000
MAX_DEPTH = 8
MAX_TABLE_COLUMNS = 12


@dataclass
class Field:
    label: str
    value: str


@dataclass
class Table:
    label: str
    headers: list[str]
    rows: list[list[str]]


@dataclass
class Group:
    label: str
    items: list[Field | Table | Group] = field(default_factory=list)


Item = Field | Table | Group


@dataclass
class Budget:
    """How many values are still shown; `cut` once some were left out."""

    left: int = MAX_VALUES
    cut: bool = False

    def take(self, n: int = 1) -> bool:
        if self.left < n:
            self.cut = True
            return False
        self.left -= n
        return True


def label_of(key: object) -> str:
    """A key as the signatory wrote it, made readable: "date_naissance" → "Date naissance"."""
    text = str(key).replace("_", " ").strip() or "—"
    return text[:1].upper() + text[1:]


def scalar(value: object) -> str:
    if value is True:
        return N_("oui")
    if value is False:
        return N_("non")
    if value is None or value == "":
        return "—"
    return str(value)


def _is_scalar(value: object) -> bool:
    return not isinstance(value, (dict, list))


def convert(value: Any, label: str, budget: Budget, depth: int = 0) -> Item | None:
    """One value of a JSON document as an item of the page (None once the budget is spent)."""
    if depth > MAX_DEPTH:
        budget.cut = True
        return None
    if isinstance(value, dict):
        group = Group(label)
        for key, child in value.items():
            item = convert(child, label_of(key), budget, depth + 1)
            if item is not None:
                group.items.append(item)
        return group
    if isinstance(value, list):
        if value and all(_is_scalar(v) for v in value):
            return Field(label, ", ".join(scalar(v) for v in value)) if budget.take() else None
        rows = [v for v in value if isinstance(v, dict)]
        keys: list[str] = []
        for row in rows:
            keys.extend(k for k in row if k not in keys)
        flat = all(_is_scalar(v) for row in rows for v in row.values())
        if rows and len(rows) == len(value) and flat and len(keys) <= MAX_TABLE_COLUMNS:
            table = Table(label, [label_of(k) for k in keys], [])
            for row in rows:
                if not budget.take(len(keys)):
                    break
                table.rows.append([scalar(row.get(k)) for k in keys])
            return table
        group = Group(label)
        for n, child in enumerate(value, start=1):
            item = convert(child, f"{label} {n}", budget, depth + 1)
            if item is not None:
                group.items.append(item)
        return group
    return Field(label, scalar(value)) if budget.take() else None


@dataclass
class ReadableData:
    """The file's content as items, or why it cannot be shown."""

    items: list[Item]
    # The file's content is not shown: it is a PDF, or it could not be read.
    unreadable: str = ""
    cut: bool = False


def read_content(content: bytes, content_type: str) -> ReadableData:
    budget = Budget()
    if content_type == "application/json":
        try:
            data = json.loads(content.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return ReadableData([], unreadable=N_("Ce fichier ne peut pas être lu ici."))
        item = convert(data, N_("Vos données"), budget)
        items: list[Item] = (
            item.items if isinstance(item, Group) else [item] if item is not None else []
        )
        return ReadableData(items, cut=budget.cut)
    if content_type == "text/csv":
        text = content.decode("utf-8-sig", errors="replace")
        rows = list(csv.reader(io.StringIO(text), delimiter=_delimiter(text)))
        if not rows:
            return ReadableData([])
        table = Table(N_("Vos données"), [label_of(h) for h in rows[0]], [])
        for row in rows[1:]:
            if not budget.take(max(1, len(row))):
                break
            table.rows.append([scalar(v) for v in row])
        return ReadableData([table], cut=budget.cut)
    return ReadableData(
        [],
        unreadable=N_(
            "Cette copie est un document PDF : il se lit tel quel. Téléchargez-le pour l'ouvrir."
        ),
    )


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    return ";" if first.count(";") > first.count(",") else ","


@dataclass(frozen=True)
class DeclarationText:
    """One declaration of the signatory, in its own words."""

    title: str
    purposes: str
    legal_basis: str
    legal_basis_explained: str
    categories: list[str]
    retention: str
    recipients: list[str]
    source: str


def declaration_texts(declarations: list[Declaration]) -> list[DeclarationText]:
    return [
        DeclarationText(
            title=d.title,
            purposes=d.purposes,
            legal_basis=legal_basis_label(d.legal_basis),
            legal_basis_explained=LEGAL_BASIS_EXPLANATIONS.get(d.legal_basis, ""),
            categories=list(d.data_categories or []),
            retention=d.retention,
            recipients=list(d.recipients or []),
            source=d.source,
        )
        for d in declarations
    ]


@dataclass(frozen=True)
class ReadableCopy:
    copy_id: str
    signatory_name: str
    signatory_slug: str
    reference: str
    filename: str
    content_type: str
    received_at: datetime
    declarations: list[DeclarationText]
    # Whether `declarations` are those the signatory said concern the resident (discovery).
    named: bool
    data: ReadableData


def pdf_blocks(copy: ReadableCopy, translate: Any, when: Any) -> list[Block]:
    """The PDF's paragraphs; `translate` gives a text in the reader's language, `when` a date."""
    t = translate
    blocks = [
        Block("h1", t(Message("Copie de vos données chez {name}", name=copy.signatory_name))),
        Block(
            "small",
            t(
                Message(
                    "Envoyée le {date} en réponse à votre demande {reference}, par le guichet "
                    "des données de la charte éthique de la donnée. Fichier : {filename}.",
                    date=when(copy.received_at),
                    reference=copy.reference,
                    filename=copy.filename,
                )
            ),
        ),
        Block(
            "h2",
            t(Message("Vos données, telles que {name} les a envoyées", name=copy.signatory_name)),
        ),
    ]
    if copy.data.unreadable:
        blocks.append(Block("p", t(copy.data.unreadable)))

    def add(item: Item, indent: int) -> None:
        if isinstance(item, Field):
            blocks.append(Block("p", f"{t(item.label)} : {t(item.value)}", indent))
        elif isinstance(item, Table):
            blocks.append(Block("h3", t(item.label), indent))
            for n, row in enumerate(item.rows, start=1):
                cells = "; ".join(f"{h} : {t(v)}" for h, v in zip(item.headers, row, strict=False))
                blocks.append(Block("p", f"{n}. {cells}", indent + 1))
        else:
            blocks.append(Block("h3", t(item.label), indent))
            for child in item.items:
                add(child, indent + 1)

    for item in copy.data.items:
        add(item, 0)
    if copy.data.cut:
        blocks.append(Block("small", t(Message("La suite est dans le fichier complet."))))
    blocks.append(
        Block(
            "h2",
            t(Message("Ce que {name} déclare faire de ces données", name=copy.signatory_name)),
        )
    )
    for d in copy.declarations:
        blocks.append(Block("h3", d.title))
        lines = [
            Message("Pour quoi faire : {text}", text=d.purposes),
            Message("Sur quelle base : {text}", text=Message(d.legal_basis)),
            Message("Quelles données : {text}", text=", ".join(d.categories))
            if d.categories
            else "",
            Message("Combien de temps : {text}", text=d.retention),
            Message("Transmises à : {text}", text=", ".join(d.recipients)) if d.recipients else "",
            Message("Obtenues de : {text}", text=d.source) if d.source else "",
        ]
        blocks.extend(Block("p", t(line), 1) for line in lines if line)
    return blocks
