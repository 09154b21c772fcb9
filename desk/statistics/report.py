"""The annual report of the charter's application (/bilan/{year}, `desk report --year Y`)."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from markupsafe import Markup

from desk.charter.models import (
    Alert,
    AlertContest,
    CharterSuggestion,
    CommitteeDecision,
    Complaint,
    SelfEvaluation,
)
from desk.charter.selfeval import readable_answers
from desk.core import clock
from desk.core.i18n import translate
from desk.core.translatable import N_
from desk.db import connected
from desk.registry.models import Declaration
from desk.settings import PROJECT_ROOT, Settings
from desk.statistics.charts import overview_charts
from desk.statistics.figures import Overview, compute_overview, year_bounds
from desk.web.templating import build_environment

FIRST_YEAR = 2000


@dataclass(frozen=True)
class AnnualReport:
    year: int
    overview: Overview
    alerts: list[Alert]
    decisions: list[CommitteeDecision]
    self_evaluations: list[SelfEvaluation]
    declaration_changes: list[Declaration]
    generated_at: datetime
    # The year is not over yet: figures are provisional.
    in_progress: bool
    # Residents' complaints to the committee: how many were filed this year, and the
    # outcome of those the committee decided this year (counts only: no personal data).
    complaints_filed: int = 0
    complaint_outcomes: dict[str, int] | None = None
    # Contested alerts the committee decided this year, by outcome (upheld, dismissed).
    contest_outcomes: dict[str, int] | None = None
    # The committee's recommendations for the charter's evolution: the suggestions it answered
    # this year and adopted or put under study.
    recommendations: list[CharterSuggestion] | None = None

    def answers_of(self, evaluation: SelfEvaluation) -> list[tuple[str, str, str]]:
        """(question, answer, comment) in words: the stored keys and codes reach no reader."""
        return readable_answers(evaluation)

    @property
    def has_data(self) -> bool:
        return bool(
            self.overview.has_deliveries
            or self.alerts
            or self.decisions
            or self.self_evaluations
            or self.declaration_changes
            or self.complaints_filed
            or self.contest_outcomes
            or self.recommendations
        )


def parse_year(text: str, *, now: datetime) -> int | None:
    """A four-digit year between FIRST_YEAR and this year (Paris time), else None."""
    if len(text) != 4 or not (text.isascii() and text.isdigit()):
        return None
    year = int(text)
    if year < FIRST_YEAR or year > clock.local(now).year:
        return None
    return year


async def build_report(*, year: int, now: datetime) -> AnnualReport:
    start, end = year_bounds(year)
    overview = await compute_overview(start=start, end=min(end, max(start, now)), now=now)
    alerts = (
        await Alert.filter(created_at__gte=start, created_at__lt=end)
        .prefetch_related("signatory")
        .order_by("created_at", "id")
    )
    decisions = (
        await CommitteeDecision.filter(decided_at__gte=start, decided_at__lt=end)
        .prefetch_related("alert__signatory")
        .order_by("decided_at", "id")
    )
    evaluations = (
        await SelfEvaluation.filter(year=year).prefetch_related("signatory").order_by("id")
    )
    evaluations.sort(key=lambda e: e.signatory.name)
    changes = (
        await Declaration.filter(updated_at__gte=start, updated_at__lt=end)
        .prefetch_related("signatory")
        .order_by("updated_at", "id")
    )
    filed = await Complaint.filter(created_at__gte=start, created_at__lt=end).count()
    outcomes: dict[str, int] = {}
    for outcome in await Complaint.filter(
        status="closed", answered_at__gte=start, answered_at__lt=end
    ).values_list("outcome", flat=True):
        outcomes[str(outcome)] = outcomes.get(str(outcome), 0) + 1
    contests: dict[str, int] = {}
    for outcome in await AlertContest.filter(decided_at__gte=start, decided_at__lt=end).values_list(
        "outcome", flat=True
    ):
        contests[str(outcome)] = contests.get(str(outcome), 0) + 1
    recommendations = await CharterSuggestion.filter(
        answered_at__gte=start, answered_at__lt=end, outcome__in=["adopted", "studied"]
    ).order_by("answered_at", "id")
    return AnnualReport(
        contest_outcomes=contests,
        recommendations=list(recommendations),
        complaints_filed=filed,
        complaint_outcomes=outcomes,
        year=year,
        overview=overview,
        alerts=list(alerts),
        decisions=list(decisions),
        self_evaluations=list(evaluations),
        declaration_changes=list(changes),
        generated_at=now,
        in_progress=now < end,
    )


LEVEL_LABELS: dict[int, str] = {
    1: N_("Alerte 1 : rappel"),
    2: N_("Alerte 2 : mise en demeure"),
    3: N_("Exclusion proposée au comité d'éthique"),
}
DECISION_LABELS: dict[str, str] = {
    "excluded": N_("Exclusion de la charte"),
    "kept_with_conditions": N_("Maintien sous conditions"),
    "kept": N_("Maintien"),
}


COMPLAINT_OUTCOME_LABELS: dict[str, str] = {
    "upheld": N_("fondées"),
    "not_upheld": N_("non fondées"),
    "resolved": N_("résolues par le signataire"),
}


CONTEST_OUTCOME_LABELS: dict[str, str] = {
    "upheld": N_("fondées (alerte retirée)"),
    "dismissed": N_("rejetées (alerte maintenue)"),
}
RECOMMENDATION_LABELS: dict[str, str] = {
    "adopted": N_("retenue pour la prochaine version de la charte"),
    "studied": N_("mise à l'étude par le comité"),
}


def report_context(annual: AnnualReport) -> dict[str, object]:
    return {
        "report": annual,
        "CONTEST_OUTCOME_LABELS": CONTEST_OUTCOME_LABELS,
        "RECOMMENDATION_LABELS": RECOMMENDATION_LABELS,
        "COMPLAINT_OUTCOME_LABELS": COMPLAINT_OUTCOME_LABELS,
        "LEVEL_LABELS": LEVEL_LABELS,
        "DECISION_LABELS": DECISION_LABELS,
    }


async def report_html(*, year: int, now: datetime, base_url: str) -> str:
    """The same report as /bilan/{year}, as one self-contained HTML file (styles inlined)."""

    def t(text: str, **values: object) -> str:
        return translate(text, "fr", **values)

    annual = await build_report(year=year, now=now)
    env = build_environment()
    css = "\n".join(
        (PROJECT_ROOT / "static" / name).read_text("utf-8") for name in ("desk.css", "stats.css")
    )
    return env.get_template("charter/report_standalone.html").render(
        **report_context(annual),
        charts=overview_charts(annual.overview, t=t, locale="fr"),
        css=Markup(css.replace("</", "<\\/")),
        online_url=f"{base_url.rstrip('/')}/bilan/{year}",
        locale="fr",
    )


async def write_report_file(*, settings: Settings, year: str, output: str | None) -> int:
    """`desk report --year Y [--output FILE]`: 0 when written, 2 on a bad year."""

    now = clock.now()
    parsed = parse_year(str(year), now=now)
    if parsed is None:
        print(
            f"Année invalide : {year!r}. Donnez une année passée ou l'année en cours, "
            "en quatre chiffres (par exemple --year 2025).",
            file=sys.stderr,
        )
        return 2
    async with connected(settings.database_url):
        html = await report_html(year=parsed, now=now, base_url=settings.base_url)
    path = Path(output or f"bilan-{parsed}.html")
    await asyncio.to_thread(path.write_text, html, encoding="utf-8")
    print(f"Bilan {parsed} écrit dans {path}.")
    return 0
