"""Which handler runs which outbox job: the wiring between the worker and the domains."""

from __future__ import annotations

from adapters import http1
from desk.charter import complaints as charter_complaints
from desk.charter import jobs as charter_jobs
from desk.identity import sessions
from desk.mediation import consent as mediation_consent
from desk.mediation import revocation as mediation_revocation
from desk.mediation import services as mediation_services
from desk.organisations import services as organisation_services
from desk.outbox.worker import JobRegistry, Worker
from desk.partners import notify as partner_notify
from desk.receipts import log as receipt_log
from desk.registry import joining
from desk.requests import batch, dispatch, fulfilling, identifiers, polling
from desk.residents import digest, identities, pagecache
from desk.residents import jobs as resident_jobs
from desk.retention import closing, reduction
from desk.retention import jobs as retention
from desk.runtime import Runtime
from desk.staff import services as staff_services
from desk.statistics import snapshot as statistics_snapshot

# A resident met at a help point is found by name and address, which only mediation knows.
identifiers.register(
    mediation_services.contact_identifiers, many=mediation_services.contact_identifiers_many
)
# A batch of polled answers feeds its receipts to their requests' digest mails itself.
fulfilling.register_receipt_feed(digest.feed_many)


def job_registry() -> JobRegistry:
    return JobRegistry(
        handlers={
            "delivery.dispatch": batch.dispatch_delivery,
            "delivery.poll": polling.poll_delivery,
            "mail.login": resident_jobs.send_login_link,
            "mail.resident": resident_jobs.send_notification,
            digest.KIND: digest.send_digest,
            "mail.staff_login": staff_services.send_staff_login_link,
            joining.MAIL_JOB: joining.send_application_mail,
            charter_complaints.MAIL_JOB: charter_complaints.send_complaint_mail,
            "mail.organisation_login": organisation_services.send_member_login_link,
            identities.LINKED_MAIL_JOB: identities.send_identity_linked,
            reduction.WARNING_JOB: reduction.send_inactivity_warning,
            closing.MAIL_JOB: closing.send_closing_mail,
            "partner.info_answered": partner_notify.notify_info_answered,
            receipt_log.APPEND_JOB: receipt_log.append_job,
            **charter_jobs.HANDLERS,
            **mediation_consent.HANDLERS,
            **mediation_revocation.HANDLERS,
        },
        on_dead={
            "delivery.dispatch": dispatch.dispatch_dead,
            "delivery.poll": dispatch.dispatch_dead,
        },
        # One sequencer run appends every receipt not yet logged: a batch of them runs it once.
        coalesce=frozenset({receipt_log.APPEND_JOB}),
        # Dispatches claimed together are read, sent and recorded together.
        batches={
            "delivery.dispatch": batch.dispatch_deliveries,
            # Polls claimed together: read and asked together, acknowledgements recorded together.
            "delivery.poll": polling.poll_deliveries,
            # Login mails claimed together: challenges read together, mails sent together over
            # the kept SMTP connections, tokens forgotten together.
            "mail.login": resident_jobs.send_login_links,
            "mail.staff_login": staff_services.send_staff_login_links,
            "mail.organisation_login": organisation_services.send_member_login_links,
            # Receipt digests claimed together: read in two queries, mailed together.
            digest.KIND: digest.send_digests,
        },
        closing=[close_connections],
        periodic=[
            receipt_log.append_periodically,
            purge_expired_personal_data,
            charter_jobs.charter_maintenance,
            statistics_snapshot.refresh_statistics,
            sessions.purge_expired_sessions,
            pagecache.prune_changes,
        ],
    )


async def close_connections(runtime: Runtime) -> None:
    """The connections the worker kept open: partners' (webhooks) and the mail server's."""
    await http1.close_pools()
    await runtime.mailer.close()


async def purge_expired_personal_data(runtime: Runtime) -> None:
    """Every retention rule (desk.retention.rules): login links, access copies, contacts of
    assisted residents, closed requests, inactive accounts."""
    await retention.periodic_retention(runtime)


def build_worker(runtime: Runtime) -> Worker:
    s = runtime.settings
    return Worker(
        registry=job_registry(),
        context=runtime,
        base_delay=s.outbox_base_delay,
        max_delay=s.outbox_max_delay,
        poll_interval=s.worker_poll_interval,
        lease_seconds=s.outbox_lease_seconds,
        concurrency=s.worker_concurrency,
        claim_batch=s.worker_claim_batch,
        claim_linger=s.worker_claim_linger,
        intake_yield=s.worker_intake_yield,
        database_url=s.database_url,
    )
