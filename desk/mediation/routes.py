"""The mediators' pages (role mediator; administrators too): the address of each.

Thin handlers live by subject: session_routes (opening a session, consent, mandates) and
resident_routes (one followed resident: file, requests, news, letters); pages holds what they
share.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from desk.mediation.resident_routes import (
    acknowledgement,
    answer_question,
    download_copy,
    file_request,
    help_point_page,
    holders_print,
    home,
    letter_page,
    letter_posted,
    mark_told,
    resident_page,
    withdraw_request,
    withdrawal_print,
)
from desk.mediation.session_routes import (
    consent_page,
    consent_resend,
    consent_submit,
    mandate_print,
    mandate_revoke,
    mandate_signed,
    new_session_form,
    open_session,
    renew_session_form,
    revocation_print,
)

routes: list[BaseRoute] = [
    Route("/mediation", home, methods=["GET"], name="mediation_home"),
    Route("/mediation/seance", new_session_form, methods=["GET"], name="mediation_new"),
    Route("/mediation/seance", open_session, methods=["POST"], name="mediation_open"),
    Route("/mediation/habitants/{rid}", resident_page, methods=["GET"], name="mediation_resident"),
    Route(
        "/mediation/habitants/{rid}/seance",
        renew_session_form,
        methods=["GET"],
        name="mediation_renew",
    ),
    Route(
        "/mediation/habitants/{rid}/seance",
        open_session,
        methods=["POST"],
        name="mediation_renew_submit",
    ),
    Route(
        "/mediation/habitants/{rid}/consentement",
        consent_page,
        methods=["GET"],
        name="mediation_consent",
    ),
    Route(
        "/mediation/habitants/{rid}/consentement",
        consent_submit,
        methods=["POST"],
        name="mediation_consent_submit",
    ),
    Route(
        "/mediation/habitants/{rid}/consentement/code",
        consent_resend,
        methods=["POST"],
        name="mediation_consent_resend",
    ),
    Route(
        "/mediation/habitants/{rid}/mandats/{mid}",
        mandate_print,
        methods=["GET"],
        name="mediation_mandate",
    ),
    Route(
        "/mediation/habitants/{rid}/mandats/{mid}/signe",
        mandate_signed,
        methods=["POST"],
        name="mediation_mandate_signed",
    ),
    Route(
        "/mediation/habitants/{rid}/mandats/{mid}/retirer",
        mandate_revoke,
        methods=["POST"],
        name="mediation_mandate_revoke",
    ),
    Route(
        "/mediation/habitants/{rid}/mandats/{mid}/retrait",
        revocation_print,
        methods=["GET"],
        name="mediation_mandate_revoked",
    ),
    Route(
        "/mediation/habitants/{rid}/demandes/{reference}/retirer",
        withdraw_request,
        methods=["POST"],
        name="mediation_withdraw",
    ),
    Route(
        "/mediation/habitants/{rid}/demandes/{reference}/retrait",
        withdrawal_print,
        methods=["GET"],
        name="mediation_withdrawn",
    ),
    Route(
        "/mediation/habitants/{rid}/demandes",
        file_request,
        methods=["POST"],
        name="mediation_file",
    ),
    Route(
        "/mediation/habitants/{rid}/demandes/{reference}/accuse",
        acknowledgement,
        methods=["GET"],
        name="mediation_ack",
    ),
    Route(
        "/mediation/habitants/{rid}/copies/{copy_id}",
        download_copy,
        methods=["GET"],
        name="mediation_copy",
    ),
    Route(
        "/mediation/habitants/{rid}/nouvelles/{event_id}/dite",
        mark_told,
        methods=["POST"],
        name="mediation_told",
    ),
    Route(
        "/mediation/habitants/{rid}/reponse",
        answer_question,
        methods=["POST"],
        name="mediation_answer_question",
    ),
    Route(
        "/mediation/point-d-aide",
        help_point_page,
        methods=["GET"],
        name="mediation_help_point",
    ),
    Route(
        "/mediation/habitants/{rid}/qui-detient",
        holders_print,
        methods=["GET"],
        name="mediation_holders",
    ),
    Route(
        "/mediation/habitants/{rid}/lettre", letter_page, methods=["GET"], name="mediation_letter"
    ),
    Route(
        "/mediation/habitants/{rid}/lettre",
        letter_posted,
        methods=["POST"],
        name="mediation_letter_posted",
    ),
]
