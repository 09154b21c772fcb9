"""Who may do what: every route of the built app × method × role, in ONE table.

A route missing from TABLE fails `test_every_route_is_classified`: whoever adds a route decides
here who may use it. Expectations per cell:
  "ok"          2xx/3xx (not a login redirect); for writes also the route's own refusal of the
                deliberately harmless body (400/409/410/422): the gate let the caller through
  "login"       303 to the resident login page   "staff_login"  303 to the staff login page
  401 / 403 / 404  exactly that status. Someone else's object is 404, never 403, never 200.
HEAD follows GET (Starlette runs the same endpoint); it is not requested separately.
"""

from __future__ import annotations

import fnmatch
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette
from tortoise.backends.base.executor import EXECUTOR_CACHE

from desk.app import create_app
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.settings import Settings
from tests.helpers import csrf_token
from tests.security.matrix import (
    Param,
    Rule,
    answer_link,
    api,
    bogus,
    charter_link,
    everyone,
    fill,
    link,
    public,
    resident,
    route_methods,
    staff,
    verdict,
    write,
)
from tests.security.world import (
    ADMIN,
    BACK,
    C_NAME,
    COMMITTEE,
    GENEROUS_LIMITS,
    MED_0,
    MED_C,
    PART_X,
    PART_Y,
    RES_A,
    RES_B,
    ROLES,
    World,
    build_world,
)

BO = ("back_office",)


def bogus_id(world: World, role: str) -> str:
    return "999999"


MED = ("mediator",)
C_PAGE = staff("mediator", of_c=True)
C_PARAMS: dict[str, Param] = {"rid": "c_id", "mid": "mandate_c", "event_id": "event_c"}
BAD_EMAIL = {"email": "pas-une-adresse"}
OTHER_DEVICE_ANSWER = {"demande": "0" * 32, "reponse": "confirmer"}
# C was met without an online account: no session of C waits for consent, even for MED_C.
NO_CONSENT_PENDING = {**C_PAGE, MED_C: 404}
# No mediator waits for resident A's consent: the answer names nothing, for A too.
NOBODY_ASKED = {**resident(own=True), RES_A: 404}
# A well-formed session handle no listing showed: past the login gate, it names nothing (404).
UNSHOWN_HANDLE = {"session": "0" * 32}

TABLE: dict[str, dict[str, Rule]] = {
    # --- public pages -----------------------------------------------------------------------
    "/": {"GET": public()},
    "/accessibilite": {"GET": public()},
    "/registre-du-guichet": {"GET": public()},
    # After closing: says what remains (from the session's counts), else a plain sentence.
    "/compte-ferme": {"GET": public()},
    "/comprendre": {"GET": public()},
    "/points-d-aide": {"GET": public()},
    "/comprendre/{topic}": {"GET": public(params={"topic": lambda w, r: "copie"})},
    "/statistiques": {"GET": public()},
    "/bilan/{year}": {"GET": public(params={"year": "year"})},
    "/donnees-ouvertes": {"GET": public()},
    "/donnees-ouvertes/": {"GET": public()},
    "/donnees-ouvertes/*": {"GET": public()},
    "/transparence": {"GET": public()},
    "/transparence/checkpoint.json": {"GET": public()},
    "/transparence/chaine.json": {"GET": Rule(expect=everyone(410), public=True)},
    "/transparence/journal/tete.json": {"GET": public()},
    "/transparence/journal/tetes.json": {"GET": public()},
    "/transparence/journal/feuilles.json": {"GET": public()},
    # Without their parameters: the same plain refusal for everyone.
    "/transparence/journal/inclusion.json": {"GET": Rule(expect=everyone(400), public=True)},
    "/transparence/journal/coherence.json": {"GET": Rule(expect=everyone(400), public=True)},
    "/signataires": {"GET": public()},
    "/signataires/flux": {"GET": public()},
    "/signataires/{slug}": {"GET": public()},
    "/signataires/{slug}/alertes": {"GET": public()},
    "/signataires/{slug}/alertes.json": {"GET": public()},
    "/signataires/{slug}/auto-evaluation": {"GET": public()},
    "/signataires/{slug}/auto-evaluation/{year}": {"GET": public(params={"year": "year"})},
    "/signataires/{slug}/declarations/{code}/historique": {
        "GET": public(params={"code": lambda w, r: "traitement-1"})
    },
    # The register of organisations; the world has no non-signatory, nor an impact study PDF.
    "/organisations": {"GET": public()},
    "/organisations/{slug}": {"GET": Rule(expect=everyone(404), public=True)},
    "/signataires/{slug}/declarations/{code}/etude-impact.pdf": {
        "GET": Rule(expect=everyone(404), public=True, params={"code": lambda w, r: "traitement-1"})
    },
    "/charte": {"GET": public()},
    "/charte/rejoindre": {"GET": public(), "POST": write(everyone(), body=lambda w: {"name": ""})},
    "/charte/ameliorations": {
        "GET": public(),
        "POST": write(everyone(), body=lambda w: {"text": ""}),
    },
    "/charte/comite": {"GET": public()},
    "/.well-known/jwks.json": {"GET": public()},
    "/verifier": {"GET": public(), "POST": write(everyone(), body=lambda w: {"jws": "abc"})},
    "/recus/{receipt_id}": {"GET": public()},
    "/recus/{receipt_id}.jws": {"GET": public()},
    "/recus/{receipt_id}/inclusion.json": {"GET": public()},
    "/api/openapi.json": {"GET": public()},
    # The demo's mailbox (demo mode only): public by design, never in production.
    "/dev/mailbox": {"GET": public()},
    "/dev/mailbox.json": {"GET": public()},
    # --- resident login (links themselves: tests/security/test_tokens.py) -------------------
    "/connexion": {"GET": public(), "POST": write(everyone(), body=lambda w: BAD_EMAIL)},
    # A link opened on another device (desk.identity.other_device): the asking browser's page
    # (its code, devices waiting) is public and names nothing without its cookie; answering
    # names no waiting device here (409); a bogus link is not found.
    "/connexion/autre-appareil": {
        "GET": public(),
        "POST": write(everyone(), body=lambda w: OTHER_DEVICE_ANSWER),
    },
    "/connexion/{token}/code": {"POST": write(everyone(404), params={"token": bogus})},
    "/connexion/{token}/autre-appareil": {"POST": write(everyone(404), params={"token": bogus})},
    "/connexion/{token}": {
        "GET": Rule(everyone(404), params={"token": bogus}),
        "POST": write(everyone(404), params={"token": bogus}),
    },
    # Log-outs run last: "everywhere" first (it needs a session), then the plain one.
    "/deconnexion/partout": {"POST": Rule(resident(own=False), phase=2, lands_on_login=True)},
    "/deconnexion": {"POST": Rule(everyone(), phase=3)},
    # FranceConnect: the start is open to all; its returns without FranceConnect's own signed
    # state are refused the same way whoever asks (flows: tests/desk/residents).
    "/franceconnect/connexion": {"POST": write(everyone())},
    "/franceconnect/retour": {"GET": Rule(everyone(400))},
    "/franceconnect/deconnexion": {"GET": Rule(everyone(400))},
    # --- the resident's space ---------------------------------------------------------------
    "/mon-espace": {"GET": Rule(resident(own=False))},
    "/mon-espace/demandes": {
        "GET": Rule(resident(own=False)),
        "POST": write(resident(own=False), body=lambda w: {"kind": "x"}),
    },
    "/mon-espace/supprimer": {
        "GET": Rule(resident(own=False), query="signataire=bus-matrice"),
    },
    "/mon-espace/demandes/{reference}": {"GET": Rule(resident(own=True))},
    "/mon-espace/demandes/{reference}/retirer": {
        "POST": write(
            resident(own=True),
            params={"reference": "withdraw_reference"},
            body=lambda w: {"delivery": str(w.ids["withdraw_delivery"])},
        )
    },
    "/mon-espace/demandes/{reference}/repondre": {
        "POST": write(
            resident(own=True),
            params={"reference": "kept_reference"},
            body=lambda w: {"delivery": str(w.ids["kept_delivery"]), "answer": "Oui."},
        )
    },
    "/mon-espace/copies/{copy_id}": {"GET": write(resident(own=True))},
    # Opened again by the browser that took it, within its window (tests/desk/residents).
    "/mon-espace/copies/{copy_id}/lire": {"GET": write(resident(own=True))},
    "/mon-espace/copies/{copy_id}/pdf": {"GET": write(resident(own=True))},
    # Resident A gave no mandate: the answer names nothing, for A too (flows: tests/desk/mediation).
    "/mon-espace/mandats/{mid}/retirer": {
        "POST": write(NOBODY_ASKED, params={"mid": lambda w, r: "999999"})
    },
    "/mon-espace/mandats/{mid}/retrait": {
        "GET": Rule(NOBODY_ASKED, params={"mid": lambda w, r: "999999"})
    },
    "/mon-espace/accompagnement/{sid}": {
        "POST": write(
            NOBODY_ASKED,
            params={"sid": lambda w, r: "999999"},
            body=lambda w: {"reponse": "accepter"},
        )
    },
    "/mon-espace/reclamations/{delivery_id}": {
        "GET": Rule(resident(own=True)),
        "POST": write(resident(own=True), body=lambda w: {"text": ""}),
    },
    "/signataires/{slug}/mes-donnees": {"GET": Rule(resident(own=False))},
    # "Mes connexions": a handle is valid only for the session it was shown to (flows:
    # tests/desk/identity/test_session_list.py).
    "/mon-espace/connexions": {"GET": Rule(resident(own=False))},
    # Without its confirmation box the form closes nothing: past the gate (422), A stays open.
    "/mon-espace/fermer": {
        "GET": Rule(resident(own=False)),
        "POST": write(resident(own=False), body=lambda w: {"confirmer": "non"}),
    },
    "/mon-espace/connexions/fermer": {
        "POST": write(
            {**resident(own=False), RES_A: 404, RES_B: 404}, body=lambda w: UNSHOWN_HANDLE
        )
    },
    "/mon-espace/signataires/{slug}": {"GET": Rule(resident(own=False))},
    # An objection to one purpose; a ground that is none answers 422 to any resident.
    "/mon-espace/signataires/{slug}/finalites": {
        "POST": write(resident(own=False), body=lambda w: {"declaration": "x", "ground": "x"})
    },
    # --- staff login and home ---------------------------------------------------------------
    "/equipe": {"GET": Rule(staff())},
    "/equipe/connexion": {"GET": public(), "POST": write(everyone(), body=lambda w: BAD_EMAIL)},
    # A link opened on another device (desk.identity.other_device): the asking browser's page
    # (its code, devices waiting) is public and names nothing without its cookie; answering
    # names no waiting device here (409); a bogus link is not found.
    "/equipe/connexion/autre-appareil": {
        "GET": public(),
        "POST": write(everyone(), body=lambda w: OTHER_DEVICE_ANSWER),
    },
    "/equipe/connexion/{token}/code": {"POST": write(everyone(404), params={"token": bogus})},
    "/equipe/connexion/{token}/autre-appareil": {
        "POST": write(everyone(404), params={"token": bogus})
    },
    "/equipe/connexion/{token}": {
        "GET": Rule(everyone(404), params={"token": bogus}),
        "POST": write(everyone(404), params={"token": bogus}),
    },
    "/equipe/deconnexion/partout": {"POST": Rule(staff(), phase=2, lands_on_login=True)},
    "/equipe/connexions": {"GET": Rule(staff())},
    "/equipe/connexions/fermer": {
        "POST": write(
            {role: 404 if e == "ok" else e for role, e in staff().items()},
            body=lambda w: UNSHOWN_HANDLE,
        )
    },
    "/equipe/deconnexion": {"POST": Rule(everyone(), phase=3, lands_on_login=True)},
    # --- back office ------------------------------------------------------------------------
    "/back-office": {"GET": Rule(staff(*BO))},
    "/back-office/taches/{job_id}/relancer": {"POST": write(staff(*BO))},
    "/back-office/signataires/{slug}": {"GET": Rule(staff(*BO))},
    "/back-office/envois/{delivery_id}": {"GET": Rule(staff(*BO))},
    "/back-office/envois/{delivery_id}/relancer": {"POST": write(staff(*BO))},
    "/back-office/envois/{delivery_id}/canal": {"POST": write(staff(*BO))},
    "/back-office/envois/{delivery_id}/reponse": {"POST": write(staff(*BO))},
    "/back-office/courriers": {"GET": Rule(staff(*BO))},
    # The organisation's space: nobody of the world is an organisation member (their own
    # access, organisation by organisation: tests/desk/organisations/test_space.py).
    "/organisation": {"GET": Rule(everyone("org_login"))},
    "/organisation/connexion": {
        "GET": public(),
        "POST": write(everyone(), body=lambda w: BAD_EMAIL),
    },
    # A link opened on another device (desk.identity.other_device): the asking browser's page
    # (its code, devices waiting) is public and names nothing without its cookie; answering
    # names no waiting device here (409); a bogus link is not found.
    "/organisation/connexion/autre-appareil": {
        "GET": public(),
        "POST": write(everyone(), body=lambda w: OTHER_DEVICE_ANSWER),
    },
    "/organisation/connexion/{token}/code": {"POST": write(everyone(404), params={"token": bogus})},
    "/organisation/connexion/{token}/autre-appareil": {
        "POST": write(everyone(404), params={"token": bogus})
    },
    "/organisation/connexion/{token}": {
        "GET": Rule(everyone(404), params={"token": bogus}),
        "POST": write(everyone(404), params={"token": bogus}),
    },
    "/organisation/reclamations": {"GET": Rule(everyone("org_login"))},
    "/organisation/alertes": {"GET": Rule(everyone("org_login"))},
    "/organisation/alertes/{alert_id}/reponse": {
        "POST": write(everyone("org_login"), params={"alert_id": bogus_id})
    },
    "/organisation/alertes/{alert_id}/contestation": {
        "POST": write(everyone("org_login"), params={"alert_id": bogus_id})
    },
    "/organisation/reclamations/{complaint_id}": {
        "POST": write(everyone("org_login"), params={"complaint_id": bogus_id})
    },
    "/organisation/demandes": {"GET": Rule(everyone("org_login"))},
    "/organisation/demandes/{delivery_id}": {
        "GET": Rule(everyone("org_login")),
        "POST": write(everyone("org_login")),
    },
    "/organisation/deconnexion": {"POST": Rule(everyone(), phase=3, lands_on_login=True)},
    "/organisation/membres": {"POST": write(everyone("org_login"))},
    "/organisation/membres/{member_id}/retirer": {
        "POST": write(everyone("org_login"), params={"member_id": bogus_id})
    },
    "/organisation/declarations/nouvelle": {
        "GET": Rule(everyone("org_login")),
        "POST": write(everyone("org_login")),
    },
    "/organisation/declarations/{declaration_id}": {
        "GET": Rule(everyone("org_login"), params={"declaration_id": bogus_id}),
        "POST": write(everyone("org_login"), params={"declaration_id": bogus_id}),
    },
    "/organisation/declarations/{declaration_id}/retirer": {
        "POST": write(everyone("org_login"), params={"declaration_id": bogus_id})
    },
    # The DPO's connection settings, self-evaluations, own statistics (members only).
    "/organisation/raccordement": {"GET": Rule(everyone("org_login"))},
    "/organisation/raccordement/identifiants": {"POST": write(everyone("org_login"))},
    "/organisation/raccordement/canal": {"POST": write(everyone("org_login"))},
    "/organisation/raccordement/clients": {"POST": write(everyone("org_login"))},
    "/organisation/raccordement/clients/{client_id}/secret": {
        "POST": write(everyone("org_login"), params={"client_id": bogus_id})
    },
    "/organisation/raccordement/clients/{client_id}/revoquer": {
        "POST": write(everyone("org_login"), params={"client_id": bogus_id})
    },
    "/organisation/raccordement/clients/{client_id}/secrets/{prefix}/revoquer": {
        "POST": write(everyone("org_login"), params={"client_id": bogus_id, "prefix": bogus_id})
    },
    "/organisation/auto-evaluations": {
        "GET": Rule(everyone("org_login")),
        "POST": write(everyone("org_login")),
    },
    "/organisation/statistiques": {"GET": Rule(everyone("org_login"))},
    # The register of organisations, kept by the `register` role (none in the world) or admin.
    "/back-office/organisations": {
        "GET": Rule(staff("register")),
        "POST": write(staff("register"), body=lambda w: {"name": ""}),
    },
    # The register's review: the `register` role (none in the world) or an admin.
    "/back-office/candidatures": {"GET": Rule(staff("register"))},
    "/back-office/candidatures/{application_id}": {
        "GET": Rule({**staff("register"), ADMIN: 404}, params={"application_id": bogus_id}),
        "POST": write({**staff("register"), ADMIN: 404}, params={"application_id": bogus_id}),
    },
    "/back-office/statut/{slug}": {
        "GET": Rule(staff("register")),
        "POST": write(staff("register"), body=lambda w: {"status": "", "reason": ""}),
    },
    # The help points' directory, kept by the back office (flows: tests/desk/helppoints).
    "/back-office/points-d-aide": {"GET": Rule(staff(*BO))},
    "/back-office/points-d-aide/nouveau": {"GET": Rule(staff(*BO)), "POST": write(staff(*BO))},
    # A help point that does not exist: past the role gate, not found.
    "/back-office/points-d-aide/{hid}": {
        "GET": Rule({**staff(*BO), BACK: 404, ADMIN: 404}, params={"hid": bogus_id}),
        "POST": write({**staff(*BO), BACK: 404, ADMIN: 404}, params={"hid": bogus_id}),
    },
    # A mediator's help point, chosen by an administrator; an account that does not exist: 404.
    "/back-office/points-d-aide/mediateurs/{sid}": {
        "POST": write({**staff("admin"), ADMIN: 404}, params={"sid": bogus_id}),
    },
    "/back-office/courriers/{delivery_id}": {
        "GET": Rule(staff(*BO), params={"delivery_id": "postal_delivery"})
    },
    "/back-office/courriers/{delivery_id}/imprime": {
        "POST": write(staff(*BO), params={"delivery_id": "postal_delivery"})
    },
    # --- mediation --------------------------------------------------------------------------
    "/mediation": {"GET": Rule(staff(*MED))},
    "/mediation/seance": {"GET": Rule(staff(*MED)), "POST": write(staff(*MED))},
    "/mediation/habitants/{rid}": {"GET": Rule(C_PAGE, params=C_PARAMS)},
    "/mediation/habitants/{rid}/seance": {
        "GET": Rule(C_PAGE, params=C_PARAMS),
        "POST": write(C_PAGE, params=C_PARAMS),
    },
    # The resident's consent to a session (flows: tests/desk/mediation/test_consent.py).
    "/mediation/habitants/{rid}/consentement": {
        "GET": Rule(NO_CONSENT_PENDING, params=C_PARAMS),
        "POST": write(NO_CONSENT_PENDING, params=C_PARAMS, body=lambda w: {"code": "123456"}),
    },
    "/mediation/habitants/{rid}/consentement/code": {
        "POST": write(NO_CONSENT_PENDING, params=C_PARAMS)
    },
    "/mediation/habitants/{rid}/mandats/{mid}": {"GET": Rule(C_PAGE, params=C_PARAMS)},
    "/mediation/habitants/{rid}/mandats/{mid}/signe": {"POST": write(C_PAGE, params=C_PARAMS)},
    "/mediation/habitants/{rid}/demandes": {
        "POST": write(
            C_PAGE,
            params=C_PARAMS,
            body=lambda w: {
                "kind": "discovery",
                "signatory": str(w.ids["x"]),
                "submission_key": f"matrix-{w.ids['nonce']}",
            },
        )
    },
    # Revoking or withdrawing for real would shut MED_C out of the cells after it: the
    # permitted cell names a mandate or request that does not exist (flows: tests/desk/mediation).
    "/mediation/habitants/{rid}/mandats/{mid}/retirer": {
        "POST": write(NO_CONSENT_PENDING, params={**C_PARAMS, "mid": lambda w, r: "999999"})
    },
    # Mandate C is not revoked: nobody has an acknowledgement of its withdrawal to print.
    "/mediation/habitants/{rid}/mandats/{mid}/retrait": {
        "GET": Rule(NO_CONSENT_PENDING, params=C_PARAMS)
    },
    "/mediation/habitants/{rid}/demandes/{reference}/retirer": {
        "POST": write(
            NO_CONSENT_PENDING, params={**C_PARAMS, "reference": lambda w, r: "DSK-INCONNUE"}
        )
    },
    "/mediation/habitants/{rid}/demandes/{reference}/retrait": {
        "GET": Rule(C_PAGE, params={**C_PARAMS, "reference": "c_reference"})
    },
    "/mediation/habitants/{rid}/demandes/{reference}/accuse": {
        "GET": Rule(C_PAGE, params={**C_PARAMS, "reference": "c_reference"})
    },
    "/mediation/habitants/{rid}/copies/{copy_id}": {
        "GET": write(C_PAGE, params={**C_PARAMS, "copy_id": "copy_c"})
    },
    "/mediation/habitants/{rid}/nouvelles/{event_id}/dite": {
        "POST": write(C_PAGE, params=C_PARAMS)
    },
    "/mediation/habitants/{rid}/reponse": {"POST": write(C_PAGE, params=C_PARAMS)},
    # A help point's shared view: the world's mediators name no help point, so it lists nobody
    # (flows: tests/desk/mediation/test_help_point_view.py).
    "/mediation/point-d-aide": {"GET": Rule(staff(*MED))},
    "/mediation/habitants/{rid}/qui-detient": {"GET": Rule(C_PAGE, params=C_PARAMS)},
    "/mediation/habitants/{rid}/lettre": {
        "GET": Rule(C_PAGE, params=C_PARAMS),
        "POST": write(C_PAGE, params=C_PARAMS),
    },
    # --- ethics committee -------------------------------------------------------------------
    "/comite": {"GET": Rule(staff("committee"))},
    # A complaint that does not exist: past the role gate, not found.
    "/comite/reclamations/{complaint_id}": {
        "GET": Rule(
            {**staff("committee"), COMMITTEE: 404, ADMIN: 404},
            params={"complaint_id": bogus_id},
        ),
        "POST": write(
            {**staff("committee"), COMMITTEE: 404, ADMIN: 404},
            params={"complaint_id": bogus_id},
        ),
    },
    "/comite/propositions/{alert_id}/decision": {"POST": write(staff("committee"))},
    # Past the role gate, an empty form is refused (422) before any lookup.
    "/comite/contestations/{contest_id}": {
        "POST": write(staff("committee"), params={"contest_id": bogus_id})
    },
    "/comite/ameliorations/{suggestion_id}": {
        "GET": Rule(
            {**staff("committee"), COMMITTEE: 404, ADMIN: 404},
            params={"suggestion_id": bogus_id},
        ),
        "POST": write(
            {**staff("committee"), COMMITTEE: 404, ADMIN: 404},
            params={"suggestion_id": bogus_id},
        ),
    },
    # The committee's composition: administrators only.
    "/back-office/comite": {
        "GET": Rule(staff("admin")),
        "POST": write(staff("admin"), body=lambda w: {"full_name": ""}),
    },
    "/back-office/comite/{seat_id}": {"POST": write(staff("admin"), params={"seat_id": bogus_id})},
    # --- signed links for signatories -------------------------------------------------------
    "/partenaires/reponse/{token}": {
        "GET": Rule(link(own=True), params={"token": answer_link}),
        "POST": write(
            link(own=True), params={"token": answer_link}, body=lambda w: {"action": "x"}
        ),
    },
    "/partenaires/charte/{token}": {"GET": Rule(link(own=False), params={"token": charter_link})},
    "/partenaires/charte/{token}/alertes/{alert_id}": {
        "POST": write(link(own=True), params={"token": charter_link})
    },
    "/partenaires/charte/{token}/auto-evaluation": {
        "POST": write(link(own=False), params={"token": charter_link})
    },
    # --- partner API (bearer tokens) --------------------------------------------------------
    # No client credentials at all: refused the same way whoever asks.
    "/oauth/token": {
        "POST": write(everyone(401), body=lambda w: {"grant_type": "client_credentials"})
    },
    "/api/v1/deliveries": {"GET": Rule(api(own=False))},
    "/api/v1/deliveries/{delivery_id}": {"GET": Rule(api(own=True))},
    "/api/v1/deliveries/{delivery_id}/acknowledge": {"POST": write(api(own=True))},
    "/api/v1/deliveries/{delivery_id}/extend": {"POST": write(api(own=True))},
    "/api/v1/deliveries/{delivery_id}/fulfil": {"POST": write(api(own=True))},
    "/api/v1/deliveries/{delivery_id}/deny": {"POST": write(api(own=True))},
    "/api/v1/deliveries/{delivery_id}/need-info": {"POST": write(api(own=True))},
    "/api/v1/hashing-key": {"GET": Rule(api(own=False))},
    "/api/v1/holdings": {"PUT": write(api(own=False)), "POST": write(api(own=False))},
    "/api/v1/lineage-events": {"POST": write(api(own=False))},
    "/api/v1/alerts": {"GET": Rule(api(own=False))},
    "/api/v1/alerts/{alert_id}/response": {"POST": write(api(own=True))},
    "/api/v1/self-evaluations/{year}": {"PUT": write(api(own=False), params={"year": "year"})},
}

# Roles that must never see A's main request (to X only) or resident C, outside public pages.
OUTSIDERS = (RES_B, MED_0, PART_Y)


@pytest.fixture
async def app(settings: Settings, mail_sink: MailSink) -> AsyncIterator[Starlette]:
    EXECUTOR_CACHE.clear()  # the suite switches dialects in one process (see tests/conftest.py)
    application = create_app(replace(settings, **GENEROUS_LIMITS), mail_sink=mail_sink)
    async with LifespanManager(application):
        yield application


# --- every route classified -----------------------------------------------------------------------


def rule_for(path: str, method: str) -> Rule | None:
    rules = TABLE.get(path)
    if rules is None:
        patterns = [key for key in TABLE if "*" in key and fnmatch.fnmatchcase(path, key)]
        rules = TABLE[patterns[0]] if patterns else None
    return rules.get(method) if rules else None


def _demo_app(tmp_path: Any) -> Starlette:
    settings = Settings(
        database_url=f"sqlite://{tmp_path}/unused.sqlite3",
        secret_key="route-listing",
        demo=True,
        data_dir=tmp_path,
    )
    return create_app(settings, mail_sink=MailSink())


def test_every_route_is_classified(tmp_path: Any) -> None:
    present = route_methods(list(_demo_app(tmp_path).routes))
    missing = sorted(f"{method} {path}" for path, method in present if not rule_for(path, method))
    assert not missing, (
        "These routes are in no row of TABLE in tests/security/test_access_matrix.py; say there "
        "who may use them:\n  " + "\n  ".join(missing)
    )
    exact = {(path, method) for path, methods in TABLE.items() for method in methods}
    stale = sorted(f"{method} {path}" for path, method in exact - present if "*" not in path)
    assert not stale, "TABLE lists routes the app no longer has:\n  " + "\n  ".join(stale)


# --- running the matrix -------------------------------------------------------------------------


async def _call(world: World, path: str, method: str, role: str, rule: Rule) -> httpx.Response:
    client = world.clients[role]
    url = fill(world, path, rule, role)
    body = rule.body(world) if rule.body else {}
    if method == "GET":
        return await client.get(url)
    if path.startswith("/api/"):
        return await client.request(method, url, json=body)
    if not path.startswith("/oauth/"):
        body = {"csrftoken": client.cookies.get("csrftoken") or await csrf_token(client), **body}
    return await client.request(method, url, data=body)


def _leaks(world: World, role: str, rule: Rule, response: httpx.Response) -> list[str]:
    if rule.public or role not in OUTSIDERS:
        return []
    secrets_of_others = [str(world.ids["reference"]), str(world.ids["c_reference"]), C_NAME]
    # What the caller put in the address is no news to them (pages link to their own URL).
    asked = str(response.request.url)
    return [s for s in secrets_of_others if s in response.text and s not in asked]


def _plan(present: set[tuple[str, str]]) -> list[tuple[int, str, str, str, Rule]]:
    """Every cell, refusals before permissions (a permitted write or download changes state)."""
    cells = []
    for path, method in present:
        rule = rule_for(path, method)
        if rule is None:  # test_every_route_is_classified names it
            continue
        for role in ROLES:
            allowed = rule.expect[role] == "ok"
            cells.append((rule.phase * 2 + allowed, path, method, role, rule))
    return sorted(cells, key=lambda cell: cell[:4])


# Someone else's object reached through one's own door: always "not found".
CROSS: list[tuple[str, str, Callable[[World], str]]] = [
    (MED_C, "GET", lambda w: f"/mediation/habitants/{w.ids['a_id']}"),
    (MED_C, "GET", lambda w: f"/mediation/habitants/{w.ids['c_id']}/copies/{w.ids['copy_a']}"),
    (
        MED_C,
        "GET",
        lambda w: f"/mediation/habitants/{w.ids['c_id']}/demandes/{w.ids['reference']}/accuse",
    ),
    (
        MED_C,
        "POST",
        lambda w: f"/mediation/habitants/{w.ids['c_id']}/nouvelles/{w.ids['event_a']}/dite",
    ),
    (RES_A, "GET", lambda w: f"/mon-espace/copies/{w.ids['copy_c']}"),
    (RES_A, "GET", lambda w: f"/mon-espace/copies/{w.ids['copy_c']}/lire"),
    (RES_A, "GET", lambda w: f"/mon-espace/copies/{w.ids['copy_c']}/pdf"),
    (RES_A, "GET", lambda w: f"/mon-espace/reclamations/{w.ids['delivery_c']}"),
    (RES_A, "GET", lambda w: f"/mon-espace/demandes/{w.ids['c_reference']}"),
    (PART_X, "GET", lambda w: f"/api/v1/deliveries/{w.ids['withdraw_delivery']}"),
    (
        PART_X,
        "GET",
        lambda w: (
            "/partenaires/reponse/"
            + w.answer_link(int(w.ids["withdraw_delivery"]), int(w.ids["x"]))
        ),
    ),
]


async def _cross_failures(world: World) -> list[str]:
    failures = []
    for role, method, url_of in CROSS:
        client, url = world.clients[role], url_of(world)
        if method == "GET":
            response = await client.get(url)
        else:
            response = await client.post(url, data={"csrftoken": client.cookies["csrftoken"]})
        if response.status_code != 404:
            failures.append(f"{method} {url} as {role}: expected 404, got {response.status_code}")
    return failures


async def test_access_matrix(app: Starlette, worker: Worker, mail_sink: MailSink) -> None:
    async with build_world(app, worker, mail_sink) as world:
        failures = await _cross_failures(world)
        cells = _plan(route_methods(list(app.routes)))
        for _, path, method, role, rule in cells:
            response = await _call(world, path, method, role, rule)
            expect = rule.expect[role]
            if response.status_code >= 500 or not verdict(expect, rule, method, response):
                where = response.headers.get("location", "")
                failures.append(
                    f"{method} {path} as {role}: expected {expect}, got "
                    f"{response.status_code} {where}".rstrip()
                )
            leaked = _leaks(world, role, rule, response)
            if leaked:
                failures.append(f"{method} {path} as {role}: shows {leaked}")
        print(f"\naccess matrix: {len(cells)} cells and {len(CROSS)} cross checks")
        assert not failures, f"{len(failures)} of {len(cells)} cells wrong:\n" + "\n".join(failures)
