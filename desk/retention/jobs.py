"""The retention run: every rule of desk.retention.rules applied once (worker and CLI).

Kept apart from the table of rules, which the steps it runs (reduction, closed requests)
read: the rules import no step, the run imports them all.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from desk.audit.log import record_action
from desk.core import clock
from desk.db import connected
from desk.identity import login_links
from desk.identity.models import LoginChallenge
from desk.mediation.services import purge_contacts
from desk.retention import closed_requests, reduction
from desk.retention.rules import (
    ASSISTED_CONTACT_MONTHS,
    CLOSED_REQUEST_MONTHS,
    DELETION_NOTICE,
    INACTIVE_ACCOUNT_MONTHS,
    LOGIN_CHALLENGE_MAX_AGE,
    REDUCTION_SECONDS_PER_RUN,
    RetentionReport,
    purge_access_copies,
)
from desk.runtime import Runtime
from desk.settings import Settings

log = logging.getLogger("desk.retention")


async def purge_login_links(*, now: datetime, login_max_age: int, dry_run: bool = False) -> int:
    max_age = min(login_max_age, int(LOGIN_CHALLENGE_MAX_AGE.total_seconds()))
    if dry_run:
        return await LoginChallenge.filter(created_at__lt=now - timedelta(seconds=max_age)).count()
    return await login_links.purge_challenges(now=now, max_age=max_age)


async def run_retention(
    *,
    now: datetime | None = None,
    login_max_age: int = 600,
    dry_run: bool = False,
    audit_always: bool = False,
    reduction_budget: float | None = None,
) -> RetentionReport:
    """Apply every rule once. Idempotent: a second run at the same moment changes nothing.

    Each step commits per batch, so concurrent runs (two workers) only race for rows that
    conditional updates hand to one of them. The run is recorded in the audit log (counts
    only) when it changed something, or always when `audit_always` (the CLI).
    `reduction_budget`: seconds after which closed-request reduction starts no new batch
    (the next run goes on); None reduces every due request.
    """
    moment = now or clock.now()
    report = RetentionReport(dry_run=dry_run)
    report.login_links_deleted = await purge_login_links(
        now=moment, login_max_age=login_max_age, dry_run=dry_run
    )
    report.copies_emptied = await purge_access_copies(now=moment, dry_run=dry_run)
    if not dry_run:
        report.contacts_deleted = await purge_contacts(
            now=moment, retention_months=ASSISTED_CONTACT_MONTHS
        )
    await closed_requests.reduce_closed_requests(
        now=moment,
        months=CLOSED_REQUEST_MONTHS,
        report=report,
        dry_run=dry_run,
        budget=reduction_budget,
    )
    await reduction.handle_inactive_accounts(
        now=moment,
        months=INACTIVE_ACCOUNT_MONTHS,
        notice=DELETION_NOTICE,
        report=report,
        dry_run=dry_run,
    )
    if not dry_run and (report.changed or audit_always):
        await record_action(action="retention.run", actor="system", detail=report.counts())
    if report.changed:
        log.info("retention run%s: %s", " (dry)" if dry_run else "", report.counts())
    return report


async def periodic_retention(runtime: Runtime) -> None:
    """The worker's periodic task (desk.jobs)."""
    await run_retention(
        login_max_age=runtime.settings.login_link_max_age,
        reduction_budget=REDUCTION_SECONDS_PER_RUN,
    )


REPORT_LABELS_FR = {
    "login_links_deleted": "liens de connexion supprimés",
    "copies_emptied": "copies de données effacées",
    "contacts_deleted": "coordonnées de personnes aidées supprimées",
    "requests_reduced": "demandes closes réduites",
    "texts_removed": "textes libres retirés",
    "legacy_texts_kept": "textes gardés (événements antérieurs au scellement)",
    "accounts_warned": "comptes inactifs avertis",
    "warnings_withdrawn": "avertissements levés (nouvelle connexion)",
    "accounts_deleted": "comptes supprimés",
    "accounts_anonymised": "comptes anonymisés (demandes closes gardées)",
}


async def run_retention_command(*, settings: Settings, dry_run: bool) -> int:
    """`desk retention run [--dry-run]`: apply the rules and print the counts."""
    async with connected(settings.database_url):
        report = await run_retention(
            login_max_age=settings.login_link_max_age, dry_run=dry_run, audit_always=True
        )
    print("Simulation : rien n'a été modifié." if dry_run else "Règles de conservation appliquées.")
    for key, value in report.counts().items():
        if dry_run and key == "contacts_deleted":
            continue  # the mediation purge has no dry run: not counted rather than guessed
        print(f"  {value:6d}  {REPORT_LABELS_FR[key]}")
    return 0
