"""Open data of the charter: declarations, recipients, statistics and alerts, in CSV and JSON.

The Table Schemas in desk/statistics/schemas/ are the single source of the column names and their
order; they are published beside the files, as schema.data.gouv.fr publishes schemas.
The signatories themselves are the register's (desk/registry: /donnees-ouvertes/signataires.*);
their CSV's schema is here with the others (REGISTER_SCHEMA).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from desk.charter.composition import published_decisions
from desk.charter.models import Alert, AlertLevel, CommitteeDecision, Complaint
from desk.core import clock
from desk.registry.declarations import changed_fields
from desk.registry.models import Declaration, DeclarationVersion, StatusChange
from desk.requests.models import Delivery
from desk.statistics.figures import compute_overview, year_bounds
from desk.web.csv_export import csv_text

SCHEMA_DIR = Path(__file__).parent / "schemas"
LIST_SEPARATOR = " | "
LICENCE_NAME = "Licence Ouverte / Open Licence version 2.0 (Etalab)"
LICENCE_URL = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
DATASETS = (
    "declarations",
    "recipients",
    "statistics",
    "alerts",
    "statuses",
    "declaration_history",
    "complaints",
    "committee_decisions",
)
# The register's own files (desk.registry.routes) are described here too.
REGISTER_SCHEMA = "signataires"
LEVEL_LABELS: dict[int, str] = {
    AlertLevel.REMINDER: "rappel",
    AlertLevel.FORMAL_NOTICE: "mise en demeure",
    AlertLevel.EXCLUSION_PROPOSED: "exclusion proposée au comité d'éthique",
}

# French labels in the data itself, like LEVEL_LABELS: open data is published in French.
STATUS_LABELS: dict[str, str] = {
    "candidate": "candidate",
    "capacity_shown": "capacité démontrée",
    "signed": "signataire",
    "suspended": "suspendue",
    "excluded": "exclue",
    "left": "a quitté la charte",
}

Row = dict[str, Any]


@cache
def schema(name: str) -> dict[str, Any]:
    if name not in DATASETS and name != REGISTER_SCHEMA:
        raise KeyError(name)
    loaded: dict[str, Any] = json.loads((SCHEMA_DIR / f"{name}.json").read_text("utf-8"))
    return loaded


def columns(name: str) -> list[str]:
    return [str(f["name"]) for f in schema(name)["fields"]]


def published_schema(name: str, *, base_url: str) -> dict[str, Any]:
    """The schema with absolute addresses for this desk."""
    document = dict(schema(name))
    base = base_url.rstrip("/")
    document["homepage"] = f"{base}/donnees-ouvertes/"
    document["path"] = f"{base}/donnees-ouvertes/{name}.schema.json"
    document["resources"] = [
        {"title": f"{name}.csv", "path": f"{base}/donnees-ouvertes/{name}.csv"},
        {"title": f"{name}.json", "path": f"{base}/donnees-ouvertes/{name}.json"},
    ]
    return document


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


async def declaration_rows() -> list[Row]:
    declarations = await Declaration.all().prefetch_related("signatory").order_by("id")
    declarations.sort(key=lambda d: (d.signatory.name, d.signatory.slug, d.code))
    return [
        {
            "signatory_slug": d.signatory.slug,
            "signatory_name": d.signatory.name,
            "declaration_code": d.code,
            "title": d.title,
            "purposes": d.purposes,
            "legal_basis": d.legal_basis,
            "data_categories": list(d.data_categories or []),
            "retention": d.retention,
            "recipients": list(d.recipients or []),
            "source": d.source,
            "dpia_summary": d.dpia_summary,
            "updated_at": _iso(d.updated_at),
        }
        for d in declarations
    ]


async def recipient_rows() -> list[Row]:
    """Who shares with whom: one row per signatory x recipient x declaration."""
    rows: list[Row] = []
    for d in await declaration_rows():
        for recipient in dict.fromkeys(r.strip() for r in d["recipients"] if r.strip()):
            rows.append(
                {
                    "signatory_slug": d["signatory_slug"],
                    "signatory_name": d["signatory_name"],
                    "recipient": recipient,
                    "declaration_code": d["declaration_code"],
                    "declaration_title": d["title"],
                    "data_categories": d["data_categories"],
                    "legal_basis": d["legal_basis"],
                }
            )
    return rows


async def statistics_rows(*, now: datetime | None = None) -> list[Row]:
    """One row per signatory and calendar year, from the first delivery's year to this one."""
    now = now or clock.now()
    first = await Delivery.all().order_by("received_at").first().values_list("received_at")
    first_alert = await Alert.all().order_by("created_at").first().values_list("created_at")
    starts = [clock.local(row[0]).year for row in (first, first_alert) if row]
    if not starts:
        return []
    rows: list[Row] = []
    for year in range(min(starts), clock.local(now).year + 1):
        start, end = year_bounds(year)
        overview = await compute_overview(start=start, end=end, now=now)
        for s in overview.signatories:
            rows.append(
                {
                    "year": year,
                    "signatory_slug": s.slug,
                    "signatory_name": s.name,
                    "received_total": s.received,
                    **{f"received_{k}": v for k, v in s.received_by_kind.items()},
                    "answered": s.answered,
                    "median_days": _round(s.median_days),
                    "p90_days": _round(s.p90_days),
                    "on_time_share": _round(s.on_time_share, 4),
                    "open_now": s.open_now,
                    "overdue_now": s.overdue_now,
                    "alerts": s.alerts,
                }
            )
    return rows


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


async def alert_rows() -> list[Row]:
    alerts = await Alert.all().prefetch_related("signatory").order_by("created_at", "id")
    decisions: dict[int, CommitteeDecision] = {}
    for found in await CommitteeDecision.all().order_by("decided_at", "id"):
        decisions[found.alert_id] = found  # type: ignore[attr-defined]  # the last one stands
    rows: list[Row] = []
    for a in alerts:
        decision = decisions.get(a.id)
        rows.append(
            {
                "alert_id": a.id,
                "signatory_slug": a.signatory.slug,
                "signatory_name": a.signatory.name,
                "level": int(a.level),
                "level_label": LEVEL_LABELS.get(int(a.level), ""),
                "reason": a.reason,
                "delivery_count": len(a.delivery_ids or []),
                "created_at": _iso(a.created_at),
                "answered": a.responded_at is not None,
                "responded_at": _iso(a.responded_at),
                "closed_at": _iso(a.closed_at),
                "decision": decision.outcome.value if decision else None,
                "decided_at": _iso(decision.decided_at) if decision else None,
            }
        )
    return rows


async def status_rows() -> list[Row]:
    """Every dated step of every organisation's life in the charter (principle 2)."""
    changes = await StatusChange.all().prefetch_related("signatory").order_by("changed_at", "id")
    return [
        {
            "signatory_slug": c.signatory.slug,
            "signatory_name": c.signatory.name,
            "signatory_kind": c.signatory.kind.value,
            "siret": c.signatory.siret,
            "status": c.status.value,
            "status_label": STATUS_LABELS.get(c.status.value, c.status.value),
            "charter_version": c.charter_version,
            "reason": c.reason,
            "changed_at": _iso(c.changed_at),
            "current_status": c.signatory.charter_status.value,
        }
        for c in changes
    ]


async def declaration_history_rows() -> list[Row]:
    """Every version of every declaration: "transparency over time"."""
    versions = await DeclarationVersion.all().prefetch_related("declaration__signatory")
    versions.sort(key=lambda v: (v.declaration.signatory.slug, v.declaration.code, v.number))
    rows: list[Row] = []
    previous: dict[int, dict[str, Any]] = {}
    for v in versions:
        snap: dict[str, Any] = dict(v.snapshot)
        before = previous.get(v.declaration.id)
        previous[v.declaration.id] = snap
        rows.append(
            {
                "signatory_slug": v.declaration.signatory.slug,
                "signatory_name": v.declaration.signatory.name,
                "declaration_code": v.declaration.code,
                "version": v.number,
                "change": v.change,
                "changed_at": _iso(v.changed_at),
                "changed_fields": changed_fields(before, snap) if before else [],
                "title": snap.get("title", ""),
                "purposes": snap.get("purposes", ""),
                "legal_basis": snap.get("legal_basis", ""),
                "data_categories": list(snap.get("data_categories") or []),
                "retention": snap.get("retention", ""),
                "recipients": list(snap.get("recipients") or []),
                "automated_decisions": snap.get("automated_decisions", ""),
                "dpia_summary": snap.get("dpia_summary", ""),
                "results_statement": snap.get("results_statement", ""),
            }
        )
    return rows


def _day(moment: datetime | None) -> str | None:
    return clock.local(moment).date().isoformat() if moment else None


async def complaint_rows() -> list[Row]:
    """Complaints and their outcomes, without the person or the text (no personal data)."""
    found = await Complaint.all().prefetch_related("delivery__signatory").order_by("id")
    return [
        {
            "complaint_id": c.id,
            "signatory_slug": c.delivery.signatory.slug,
            "signatory_name": c.delivery.signatory.name,
            "filed_on": _day(c.created_at),
            "status": c.status,
            "signatory_asked_on": _day(c.asked_at),
            "signatory_answered_on": _day(c.signatory_answered_at),
            "outcome": c.outcome or None,
            "decided_on": _day(c.answered_at) if c.status == "closed" else None,
        }
        for c in found
    ]


async def committee_decision_rows() -> list[Row]:
    """Every decision of the ethics committee, oldest first, without personal data."""
    return [
        {
            "decision_key": d.key,
            "kind": d.kind,
            "subject_id": d.subject_id,
            "signatory_slug": d.signatory_slug or None,
            "signatory_name": d.signatory_name or None,
            "outcome": d.outcome,
            "outcome_label": d.outcome_label,
            "reasoning": d.reasoning or None,
            "decided_on": _day(d.decided_at),
        }
        for d in reversed(await published_decisions())
    ]


async def _statistics_now() -> list[Row]:
    return await statistics_rows()


BUILDERS: dict[str, Callable[[], Awaitable[list[Row]]]] = {
    "declarations": declaration_rows,
    "recipients": recipient_rows,
    "statistics": _statistics_now,
    "alerts": alert_rows,
    "statuses": status_rows,
    "declaration_history": declaration_history_rows,
    "complaints": complaint_rows,
    "committee_decisions": committee_decision_rows,
}


async def rows(name: str) -> list[Row]:
    return await BUILDERS[name]()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return LIST_SEPARATOR.join(str(v) for v in value)
    return str(value)


def to_csv(name: str, records: list[Row]) -> str:
    """RFC 4180 CSV (comma, double quotes, CRLF), columns in the schema's order."""
    return csv_text(
        columns(name), ({k: _cell(record.get(k)) for k in columns(name)} for record in records)
    )
