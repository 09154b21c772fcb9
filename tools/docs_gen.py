"""Write docs/configuration.md and docs/urls.md from the code: `Settings` and the app's routes.

Every field of `desk.settings.Settings` and every route of `create_app(...)` needs a line in
SETTINGS or ROUTES below; the generator refuses to write the documents otherwise, and
`tests/test_docs.py` fails when the committed documents differ from what it writes.

Usage (from the project root):
    .venv/bin/python tools/docs_gen.py           # rewrite docs/configuration.md and docs/urls.md
    .venv/bin/python tools/docs_gen.py --check   # exit 1 if they are out of date
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIGURATION = ROOT / "docs" / "configuration.md"
URLS = ROOT / "docs" / "urls.md"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@dataclasses.dataclass(frozen=True)
class Setting:
    meaning: str
    # How the default reads when the field's value alone would mislead (computed defaults).
    default: str | None = None


# One entry per field of Settings (but `extra`, which no variable sets), in display order.
SETTINGS: dict[str, Setting] = {
    "database_url": Setting(
        "`sqlite://FILE` or `postgres://user:pass@host:5432/db`. On PostgreSQL each process "
        "(`desk serve`, `desk worker`) keeps a pool of at most 5 connections, Tortoise's "
        "default; `?maxsize=N` (and `minsize=`) in the URL changes it (the worker's listener "
        "for new jobs leaves these options out)"
    ),
    "secret_key": Setting(
        "signs links and CSRF tokens, and encrypts stored secrets; set it (same value) on every "
        "instance — see [security.md](security.md#rotating-desk_secret_key) to rotate it",
        default="generated into `DESK_DATA_DIR/secret.key`",
    ),
    "data_dir": Setting(
        "local state: the secret key and the receipt signing keys (`receipt-keys.json`)"
    ),
    "base_url": Setting("public URL, used in emails and receipts"),
    "smtp_host": Setting("outgoing mail server"),
    "smtp_port": Setting("outgoing mail server's port"),
    "smtp_username": Setting("SMTP authentication"),
    "smtp_password": Setting("SMTP authentication"),
    "smtp_starttls": Setting("SMTP: upgrade the connection with STARTTLS"),
    "smtp_timeout": Setting("seconds one single read from the mail server may take"),
    "smtp_deadline": Setting(
        "seconds one email may take as a whole (connection, dialogue, data): a server "
        "trickling bytes cannot hold a worker"
    ),
    "mail_from": Setting("sender address"),
    "demo": Setting("demo mode (set by `desk demo`)"),
    "log_format": Setting(
        "`json` (one JSON object per line) or `text`",
        default="`json` for `serve` and `worker`, `text` otherwise",
    ),
    "log_level": Setting(
        "root log level (`DEBUG` shows health probes; SQL and SMTP libraries stay quieter "
        "whatever this says)"
    ),
    "forwarded_allow_ips": Setting(
        "proxies `desk serve` trusts for `X-Forwarded-For` / `-Proto` (comma-separated "
        "addresses, or `*`)"
    ),
    "session_max_age": Setting(
        "a resident's login lasts this long at most, however active (seconds; 8 h)"
    ),
    "staff_session_max_age": Setting(
        "a staff member's login lasts this long at most (seconds; 2 h)"
    ),
    "session_idle_timeout": Setting(
        "any session ends after this long without a request (seconds; 30 min)"
    ),
    "rate_limit_storage": Setting(
        "where rate-limit counters live: `memory://` (one process) or `redis://host:6379/0` "
        "(shared by every instance)"
    ),
    "rate_limit_login_per_email": Setting(
        "login-link requests for one address (resident and staff forms)"
    ),
    "rate_limit_login_per_ip": Setting(
        "login-link requests from one network address (a help point's shared connection "
        "counts once)"
    ),
    "rate_limit_token_per_client": Setting("`POST /oauth/token` per `client_id`"),
    "rate_limit_token_per_ip": Setting("`POST /oauth/token` per network address"),
    "rate_limit_answer_per_link": Setting(
        "answer forms (partner answer page, resident's answer to a question) per link or resident"
    ),
    "rate_limit_answer_per_ip": Setting("answer forms per network address"),
    "rate_limit_public_form_per_ip": Setting(
        "forms that store text for people to read (`POST /charte/rejoindre`, "
        "`/charte/ameliorations`, `/mon-espace/reclamations/{id}`) per network address"
    ),
    "https_only": Setting(
        "behind HTTPS: `__Host-` secure cookies and HSTS (set `true` in production)"
    ),
    "login_link_max_age": Setting(
        "login link lifetime, seconds (single use, only in the browser that asked; keep it at "
        "10 minutes or less)"
    ),
    "franceconnect_issuer": Setting(
        "FranceConnect's issuer, e.g. `https://fcp-low.integ01.dev-franceconnect.fr/api/v2` "
        "(integration platform); its discovery document is "
        "`ISSUER/.well-known/openid-configuration`. The FranceConnect button shows only when "
        "the issuer, client id and secret are all set"
    ),
    "franceconnect_client_id": Setting("the desk's client id at FranceConnect"),
    "franceconnect_client_secret": Setting(
        "the desk's client secret at FranceConnect (keep it out of the repository)"
    ),
    "franceconnect_acr": Setting(
        "eIDAS level asked for (`acr_values`) and required, at least, in the ID token's `acr`"
    ),
    "answer_link_max_age": Setting("partner answer link lifetime (seconds; 100 days)"),
    "download_link_max_age": Setting(
        "how long a copy waits for its download before deletion (seconds; 7 days; the "
        "retention job empties copies after 7 days whatever this says)"
    ),
    "upload_max_bytes": Setting("largest copy a partner may upload (10 MiB)"),
    "outbox_base_delay": Setting(
        "retry backoff (seconds): full jitter, doubling from this — see "
        "[operations.md](operations.md#workers-and-the-outbox)"
    ),
    "outbox_max_delay": Setting("retry backoff's cap (seconds)"),
    "worker_poll_interval": Setting(
        "seconds the worker waits when nothing is due (on PostgreSQL a new job wakes it at "
        "once: LISTEN/NOTIFY; polling is the fallback)"
    ),
    "worker_concurrency": Setting(
        "jobs one worker runs at once (lanes fed by batched claims); they mostly wait on "
        "partners, the mail server and the database; one partner may get that many calls at "
        "once from one worker. 1 to 1,000 — see [bench/README.md](../bench/README.md)"
    ),
    "worker_claim_batch": Setting(
        "most jobs one worker claims in one transaction (never more than its free lanes); 1 to "
        "1,000"
    ),
    "worker_claim_linger": Setting(
        "seconds an idle worker, once woken, waits before claiming, so that jobs trickling in "
        "are claimed and run together (each claim and batch costs statements whatever its size); "
        "0 claims at once — see [operations.md](operations.md#workers-and-the-outbox)"
    ),
    "worker_intake_yield": Setting(
        "while residents are filing (one filing in the last 50 ms), the most seconds a worker "
        "waits between two claims: the filings get the processor and the database first, the "
        "worker catches up when they stop; 0 to 60, 0 never holds back (a worker on a machine "
        "of its own) — see "
        "[operations.md](operations.md#workers-and-the-outbox)"
    ),
    "worker_nice": Setting(
        "the CPU priority (nice level, 0–19) `desk worker` lowers itself to at start: on a "
        "machine shared with the web app, pages come first and the worker takes what they "
        "leave; alone on its machine it loses nothing. 0 keeps the priority it was started "
        "with. A value out of range stops the worker at start with its reason (exit 2) — see "
        "[operations.md](operations.md#workers-and-the-outbox)"
    ),
    "outbox_lease_seconds": Setting(
        "how long a running job stays its worker's without a heartbeat (extended every third of it)"
    ),
    "simulated_delay": Setting("seconds before the simulated adapter answers"),
    "receipt_digest_quiet": Setting(
        "seconds a request's receipt mail waits for answers arriving together (one mail per "
        "request); the request's last answer sends it at once"
    ),
    "alert_formal_notice_days": Setting(
        "charter alerts: days a signatory stays overdue after alert 1 before the formal "
        "notice (alert 2)"
    ),
    "alert_rolling_overdue": Setting(
        "charter alerts: late deliveries within a rolling year that also lead to the formal notice"
    ),
    "alert_exclusion_days": Setting(
        "charter alerts: days after the formal notice, still unresolved, before exclusion is "
        "proposed to the ethics committee"
    ),
    "statistics_max_age": Setting(
        "seconds `/statistiques` shows the worker's snapshot of its figures (refreshed every "
        "10 minutes); older or missing, the page computes them (3 s on 5 M deliveries) and "
        "stores them"
    ),
    "dpo_contact": Setting(
        "the desk's own data protection officer (name, postal and mail address, one line), "
        "shown on `/registre-du-guichet`"
    ),
    "partner_allowed_networks": Setting(
        "internal networks partner URLs (webhook, REST) may lead to, as CIDR separated by "
        "commas or spaces (`10.20.0.0/16, fd12::/64`): a town's own partners. Any other "
        "loopback, private, link-local (cloud metadata), shared, multicast or reserved address "
        "is refused, when configured and at each call; `0.0.0.0`/`::` never. A malformed entry "
        "stops the desk at start",
        default="empty (`127.0.0.0/8, ::1/128` in `desk demo`)",
    ),
}

# Variables read outside Settings.
OTHER_VARIABLES: tuple[tuple[str, str, str], ...] = (
    (
        "DESK_ASSETS_DIR",
        "the source checkout",
        "directory holding `templates/` and `static/` when the desk is installed from its "
        "wheel (`/opt/desk/share` in the image) — `desk/settings.py`",
    ),
    (
        "DESK_PREVIOUS_SECRET_KEY",
        "empty",
        "the old `DESK_SECRET_KEY`, read by `desk keys reencrypt` only (an environment "
        "variable, not an argument: command lines are visible to `ps`)",
    ),
    (
        "DESK_TEST_DATABASE_URL",
        "empty",
        "the test suite runs on PostgreSQL too when this names a database it may empty",
    ),
)

# One entry per route path of the app; methods come from the routes themselves.
ROUTES: dict[str, str] = {
    # Public pages
    "/": "home page: what the desk does, accessibility status",
    "/accessibilite": "accessibility statement (RGAA 4.1)",
    "/registre-du-guichet": (
        "the desk's own register of processing: purposes, legal bases, recipients, retention "
        "durations (from the retention rules, see [retention.md](retention.md)), its DPO, your "
        "rights — linked from every page's footer"
    ),
    "/comprendre": (
        "« Comprendre mes données »: plain-language sheets (each right, deadlines, legal "
        "bases, complaints), printable on one A4 page"
    ),
    "/comprendre/{topic}": "one sheet of « Comprendre mes données »",
    "/signataires": "public register of signatories",
    "/charte": (
        "the charter: its eleven principles (French and English), the version in force and its "
        "adoption, earlier versions with what changed, who signed which version"
    ),
    "/charte/ameliorations": (
        "« Proposer une amélioration »: anyone suggests a change (address optional, never "
        "shown); answered suggestions are published with the committee's answer"
    ),
    "/charte/comite": (
        "the ethics committee: members (colleges, mandate dates) and its decisions, published "
        "without personal data"
    ),
    "/charte/rejoindre": (
        "« Rejoindre la charte »: an organisation applies (SIREN/SIRET checked); a dated "
        "acknowledgement is mailed"
    ),
    "/signataires/{slug}/declarations/{code}/historique": (
        "every version of one declaration, dated, with what changed (public)"
    ),
    "/signataires/{slug}": (
        "one signatory and its declarations (purposes, legal basis, categories, retention, "
        "recipients, source)"
    ),
    "/signataires/flux": "who shares data with whom, from the declarations' recipients",
    "/signataires/{slug}/mes-donnees": (
        "a signatory's stable deep link (for its letters and website): goes to the resident's "
        "card for it, after login if needed"
    ),
    "/signataires/{slug}/alertes": (
        "the charter alerts against a signatory, with reasons and deliveries"
    ),
    "/signataires/{slug}/alertes.json": "the same alerts as JSON",
    "/signataires/{slug}/auto-evaluation": "a signatory's published yearly self-evaluations",
    "/signataires/{slug}/auto-evaluation/{year}": "one year's self-evaluation",
    "/statistiques": (
        "per signatory: requests by kind, median and 90th-percentile response time, on-time "
        "share, open and overdue; SVG charts with data tables"
    ),
    "/bilan/{year}": (
        "the annual report of the charter's application (printable; `desk report --year Y`)"
    ),
    "/donnees-ouvertes": "redirects to `/donnees-ouvertes/`",
    "/donnees-ouvertes/": (
        "open-data index: `declarations`, `recipients`, `statistics`, `alerts` as `.csv`, "
        "`.json` and `.schema.json` (Table Schema), Licence Ouverte 2.0"
    ),
    "/donnees-ouvertes/declarations.csv": "the declarations, one row each (CSV)",
    "/donnees-ouvertes/declarations.json": "the declarations (JSON)",
    "/donnees-ouvertes/declarations.schema.json": "their Table Schema",
    "/donnees-ouvertes/recipients.csv": "signatory × recipient × declaration rows (CSV)",
    "/donnees-ouvertes/recipients.json": "the same (JSON)",
    "/donnees-ouvertes/recipients.schema.json": "their Table Schema",
    "/donnees-ouvertes/statistics.csv": "one row per signatory and calendar year (CSV)",
    "/donnees-ouvertes/statistics.json": "the same (JSON)",
    "/donnees-ouvertes/statistics.schema.json": "their Table Schema",
    "/donnees-ouvertes/alerts.csv": "one row per charter alert (CSV)",
    "/donnees-ouvertes/alerts.json": "the same (JSON)",
    "/donnees-ouvertes/alerts.schema.json": "their Table Schema",
    "/donnees-ouvertes/statuses.csv": (
        "one row per dated step of an organisation in the charter (candidate … left) (CSV)"
    ),
    "/donnees-ouvertes/statuses.json": "the same (JSON)",
    "/donnees-ouvertes/statuses.schema.json": "their Table Schema",
    "/donnees-ouvertes/complaints.csv": (
        "one row per complaint to the ethics committee: dates and outcome, no personal data (CSV)"
    ),
    "/donnees-ouvertes/complaints.json": "the same (JSON)",
    "/donnees-ouvertes/committee_decisions.csv": (
        "one row per decision of the ethics committee (exclusions, contested alerts, complaints, "
        "suggestions), no personal data (CSV)"
    ),
    "/donnees-ouvertes/committee_decisions.json": "the same (JSON)",
    "/donnees-ouvertes/committee_decisions.schema.json": "their Table Schema",
    "/donnees-ouvertes/signataires.schema.json": "the Table Schema of signataires.csv",
    "/donnees-ouvertes/complaints.schema.json": "their Table Schema",
    "/donnees-ouvertes/declaration_history.csv": "one row per version of a declaration (CSV)",
    "/donnees-ouvertes/declaration_history.json": "the same (JSON)",
    "/donnees-ouvertes/declaration_history.schema.json": "their Table Schema",
    "/donnees-ouvertes/signataires.json": "the register of signatories as open data (JSON)",
    "/donnees-ouvertes/signataires.csv": "the register of signatories as open data (CSV)",
    "/donnees-ouvertes/organisations.csv": (
        "the register of organisations, signatories or not, as open data (CSV)"
    ),
    "/donnees-ouvertes/organisations.json": "the register of organisations as open data (JSON)",
    "/donnees-ouvertes/organisations.schema.json": (
        "the Table Schema of the register of organisations"
    ),
    "/organisations": (
        "every organisation holding personal data: signatories, and the non-signatories they "
        "share data with"
    ),
    "/organisations/{slug}": "one non-signatory organisation and who shares data with it",
    "/signataires/{slug}/declarations/{code}/etude-impact.pdf": (
        "a declaration's impact study, as the PDF its signatory uploaded"
    ),
    "/points-d-aide": (
        "the directory of digital-help points (address, hours, phone, accessibility, "
        "languages), filterable by town and language"
    ),
    "/donnees-ouvertes/points-d-aide.csv": "the directory of help points as open data (CSV)",
    "/donnees-ouvertes/points-d-aide.json": "the directory of help points as open data (JSON)",
    "/donnees-ouvertes/points-d-aide.schema.json": (
        "the Table Schema of the help points' open data"
    ),
    # Residents
    "/connexion": "ask for a login link by email (GET form, POST sends)",
    "/connexion/{token}": "confirm the login link (GET shows a button, POST logs in)",
    "/connexion/autre-appareil": (
        "the asking browser's page for a link opened on another device: its code, devices "
        "waiting for confirmation (POST confirms or refuses one)"
    ),
    "/connexion/{token}/code": ("POST: log in on another device with the asking browser's code"),
    "/connexion/{token}/autre-appareil": (
        "POST: another device asks the asking browser to confirm it"
    ),
    "/franceconnect/connexion": ("POST: log in with FranceConnect (shown only when configured)"),
    "/franceconnect/retour": "the provider's return after login",
    "/franceconnect/deconnexion": "the return after logging out at the provider",
    "/deconnexion": "POST: log out",
    "/deconnexion/partout": ("POST: log out of every device (ends all the resident's sessions)"),
    "/mon-espace": (
        "the resident's dashboard: who holds my data, my most recent requests (its cost does "
        "not grow with the resident's history)"
    ),
    "/mon-espace/fermer": (
        "close the account: what is deleted, what is kept and how long; POST (checked box): "
        "withdraw open requests, erase as for an inactive account, mail a confirmation"
    ),
    "/compte-ferme": "after closing: the account is closed, what remains and until when",
    "/mon-espace/connexions": ("the resident's active sessions (device, login, last activity)"),
    "/mon-espace/connexions/fermer": "POST: end one of them",
    "/mon-espace/demandes": (
        "every request of the resident, newest first, 20 a page (`?page=`); POST: file a "
        "request (discovery, access, erasure, objection)"
    ),
    "/mon-espace/supprimer": (
        "confirmation page before an erasure (one signatory or all that hold data)"
    ),
    "/mon-espace/demandes/{reference}": (
        "one request: each signatory's state, deadline, answer, history"
    ),
    "/mon-espace/demandes/{reference}/retirer": "POST: withdraw a delivery not yet answered",
    "/mon-espace/demandes/{reference}/repondre": (
        "POST: answer a signatory's question (`need_info`) about that request"
    ),
    "/mon-espace/copies/{copy_id}": (
        "download a copy of my data as the signatory sent it (one browser, a 15-minute retry "
        "window, expires)"
    ),
    "/mon-espace/copies/{copy_id}/lire": (
        "read a copy of my data as a page, beside what each declaration says (same rules)"
    ),
    "/mon-espace/copies/{copy_id}/pdf": "the readable copy as a PDF to keep or print (same rules)",
    "/mon-espace/mandats/{mid}/retirer": "POST: withdraw a mandate given to a mediator",
    "/mon-espace/mandats/{mid}/retrait": "the printable acknowledgement of a withdrawn mandate",
    "/mon-espace/accompagnement/{sid}": (
        "POST: accept or refuse a mediator asking, today, to join my account"
    ),
    "/mon-espace/signataires/{slug}": (
        "the resident's card for one signatory: what it holds, what it answered, one-click "
        "erasure or objection"
    ),
    "/mon-espace/signataires/{slug}/finalites": (
        "object to one declaration (purpose) of a signatory, or withdraw the consent given for it"
    ),
    "/mon-espace/reclamations/{delivery_id}": (
        "a complaint to the charter's ethics committee about one delivery (GET form, POST files it)"
    ),
    # Staff
    "/equipe/connexion": "staff login by email link (GET form / POST sends)",
    "/equipe/connexion/{token}": "staff login link (GET confirm page / POST logs in)",
    "/equipe/connexion/autre-appareil": (
        "the asking browser's page for a staff link opened on another device: its code, devices "
        "waiting for confirmation (POST confirms or refuses one)"
    ),
    "/equipe/connexion/{token}/code": (
        "POST: log in on another device with the asking browser's code"
    ),
    "/equipe/connexion/{token}/autre-appareil": (
        "POST: another device asks the asking browser to confirm it"
    ),
    "/equipe": "staff home page",
    "/equipe/deconnexion": "POST: log out",
    "/equipe/deconnexion/partout": "POST: log out of every device",
    "/equipe/connexions": "a staff member's active sessions",
    "/equipe/connexions/fermer": "POST: end one of them",
    "/back-office": (
        "back office: deliveries by state per signatory, dead outbox jobs with the adapter's "
        "last error"
    ),
    "/back-office/taches/{job_id}/relancer": "POST: give a dead outbox job new attempts",
    "/back-office/signataires/{slug}": "one signatory's deliveries and channel",
    "/back-office/envois/{delivery_id}": "one delivery",
    "/back-office/envois/{delivery_id}/relancer": "POST: retry the delivery",
    "/back-office/envois/{delivery_id}/canal": "POST: switch the delivery to another channel",
    "/back-office/envois/{delivery_id}/reponse": "POST: type in a paper answer",
    "/back-office/courriers": "the postal queue",
    "/back-office/points-d-aide": "the directory of help points, as staff keep it",
    "/back-office/points-d-aide/nouveau": "add a help point (GET form, POST saves)",
    "/back-office/points-d-aide/{hid}": "edit or unpublish a help point (GET form, POST saves)",
    "/back-office/points-d-aide/mediateurs/{sid}": (
        "an administrator chooses a mediator's help point from the directory (POST)"
    ),
    # The organisation's space
    "/organisation": (
        "the organisation's space (its DPO and editors): status, declarations, people"
    ),
    "/organisation/connexion": "ask for an organisation login link by email",
    "/organisation/connexion/{token}": "organisation login link (GET confirm page / POST logs in)",
    "/organisation/connexion/autre-appareil": (
        "the asking browser's page for an organisation link opened on another device: its "
        "code, devices waiting for confirmation (POST confirms or refuses one)"
    ),
    "/organisation/connexion/{token}/code": (
        "POST: log in on another device with the asking browser's code"
    ),
    "/organisation/connexion/{token}/autre-appareil": (
        "POST: another device asks the asking browser to confirm it"
    ),
    "/organisation/deconnexion": "POST: log out of the organisation's space",
    "/organisation/reclamations": "the ethics committee's questions to the organisation",
    "/organisation/alertes": (
        "the organisation's charter alerts: answer each one; the DPO may contest one"
    ),
    "/organisation/alertes/{alert_id}/reponse": (
        "POST: the organisation's explanation and action plan for an alert (published)"
    ),
    "/organisation/alertes/{alert_id}/contestation": (
        "POST: the DPO contests an alert with a reason; the ethics committee decides"
    ),
    "/organisation/reclamations/{complaint_id}": "POST: the organisation answers the committee",
    "/organisation/demandes": (
        "the organisation's inbox: every delivery addressed to it, filtered by state, kind, due "
        "soon or overdue"
    ),
    "/organisation/demandes/{delivery_id}": (
        "one delivery and its answers (acknowledge, extend, fulfil with a copy, deny): the "
        "emailed answer page's, through the same service"
    ),
    "/organisation/membres": "POST: the DPO gives a colleague access (role dpo or editor)",
    "/organisation/membres/{member_id}/retirer": "POST: the DPO removes a colleague's access",
    "/organisation/declarations/nouvelle": "publish a new declaration (GET form, POST creates)",
    "/organisation/declarations/{declaration_id}": (
        "edit one of the organisation's declarations: each change is a new public version"
    ),
    "/organisation/declarations/{declaration_id}/retirer": (
        "POST: retire a declaration (it stays public, marked retired, with its history)"
    ),
    "/back-office/comite": (
        "the ethics committee's composition (admin): add a member, published on /charte/comite"
    ),
    "/back-office/comite/{seat_id}": "POST: change a committee member's details or mandate",
    "/organisation/raccordement": (
        "the DPO's connection settings: accepted identifiers, channel, API clients, holdings"
    ),
    "/organisation/raccordement/identifiants": "POST: the identifiers the organisation accepts",
    "/organisation/raccordement/canal": (
        "POST: the organisation's channel and its settings (a new signing secret shown once)"
    ),
    "/organisation/raccordement/clients": "POST: a new API client, its secret shown once",
    "/organisation/raccordement/clients/{client_id}/secret": (
        "POST: a new secret for an API client; the previous one stays valid until the next"
    ),
    "/organisation/raccordement/clients/{client_id}/revoquer": (
        "POST: revoke an API client, its secrets and tokens"
    ),
    "/organisation/raccordement/clients/{client_id}/secrets/{prefix}/revoquer": (
        "POST: revoke one secret of an API client"
    ),
    "/organisation/auto-evaluations": (
        "the organisation's yearly self-evaluations (GET list and form, POST files this year's)"
    ),
    "/organisation/statistiques": "the organisation's own statistics, as on /statistiques",
    "/back-office/organisations": (
        "the register of organisations (staff role `register`, or admin); POST adds one"
    ),
    "/back-office/candidatures": (
        "applications to join the charter (staff role `register`, or admin), newest first"
    ),
    "/back-office/candidatures/{application_id}": (
        "one application; POST: accept (a candidate on the register, its DPO an account), "
        "ask for more, or refuse with a reason"
    ),
    "/back-office/statut/{slug}": (
        "a signatory's dated charter statuses; POST: record capacity shown, signed (a charter "
        "version) or left, with the public reason"
    ),
    "/back-office/courriers/{delivery_id}": "one printable letter",
    "/back-office/courriers/{delivery_id}/imprime": "POST: mark the letter printed",
    "/comite/reclamations/{complaint_id}": (
        "one complaint; POST: acknowledge, ask the signatory, or decide (upheld, not upheld, "
        "resolved) — the resident is told at each step"
    ),
    "/comite/contestations/{contest_id}": (
        "POST: the committee decides on a contested alert (upheld withdraws it)"
    ),
    "/comite/ameliorations/{suggestion_id}": (
        "a suggestion to improve the charter; POST: the committee's public answer"
    ),
    "/comite": (
        "ethics committee (staff role `committee`): exclusion proposals, contested alerts, "
        "suggestions to improve the charter, complaints; decisions with reasoning"
    ),
    "/comite/propositions/{alert_id}/decision": "POST: the committee's decision, with reasoning",
    # Mediation
    "/mediation": (
        "mediators (staff role `mediator`): my residents, their open requests, what to tell them"
    ),
    "/mediation/seance": (
        "open an assisted session: find or create the resident (without email too), identity "
        "check, mandate"
    ),
    "/mediation/habitants/{rid}/seance": "open a new session with a known resident",
    "/mediation/habitants/{rid}/consentement": (
        "a resident who already has an account consents: the mediator types the code mailed "
        "to them (POST)"
    ),
    "/mediation/habitants/{rid}/consentement/code": "POST: send the resident a new code",
    "/mediation/habitants/{rid}": "one assisted resident: mandates, requests, news to pass on",
    "/mediation/habitants/{rid}/mandats/{mid}": "the printable mandate form",
    "/mediation/habitants/{rid}/mandats/{mid}/signe": (
        "POST: record that the mandate was signed on paper"
    ),
    "/mediation/habitants/{rid}/demandes": "POST: file a request within the mandate",
    "/mediation/habitants/{rid}/demandes/{reference}/accuse": "the printable acknowledgement",
    "/mediation/habitants/{rid}/mandats/{mid}/retirer": (
        "POST: withdraw the mandate, at the resident's word (the mediator then sees nothing)"
    ),
    "/mediation/habitants/{rid}/mandats/{mid}/retrait": (
        "the printable acknowledgement of a mandate withdrawn at the help point (same day)"
    ),
    "/mediation/habitants/{rid}/demandes/{reference}/retirer": (
        "POST: withdraw a request filed with the resident, where not yet answered"
    ),
    "/mediation/habitants/{rid}/demandes/{reference}/retrait": (
        "the printable acknowledgement of a withdrawn request"
    ),
    "/mediation/habitants/{rid}/copies/{copy_id}": "print an access copy (once)",
    "/mediation/habitants/{rid}/nouvelles/{event_id}/dite": "POST: mark news as told",
    "/mediation/point-d-aide": (
        "the people followed at the mediator's help point, under a live mandate given there"
    ),
    "/mediation/habitants/{rid}/qui-detient": (
        "a dated printout of who holds the resident's data (discovery answers, lineage)"
    ),
    "/mediation/habitants/{rid}/lettre": (
        "a printable letter to the resident (POST: marks it posted)"
    ),
    "/mediation/habitants/{rid}/reponse": (
        "POST: record the resident's answer to a signatory's question (need_info), within "
        "the mandate"
    ),
    # Partners
    "/partenaires/reponse/{token}": (
        "the signatory's answer page, reached from its signed email link"
    ),
    "/partenaires/charte/{token}": "a signatory's signed-link page for the charter",
    "/partenaires/charte/{token}/alertes/{alert_id}": "POST: answer an alert",
    "/partenaires/charte/{token}/auto-evaluation": "POST: submit the yearly self-evaluation",
    "/oauth/token": (
        "POST: partner API token (OAuth2 client credentials) — see [partner-api.md](partner-api.md)"
    ),
    "/api/openapi.json": "the partner API's OpenAPI 3.1 document",
    "/api/v1/deliveries": "a partner's inbox (filters `state`, `kind`; `limit`, `cursor`)",
    "/api/v1/deliveries/{delivery_id}": (
        "one delivery (identifiers the signatory accepts, deadlines, history)"
    ),
    "/api/v1/deliveries/{delivery_id}/acknowledge": "the partner acknowledges the delivery",
    "/api/v1/deliveries/{delivery_id}/extend": "extends its deadline, once, with a reason",
    "/api/v1/deliveries/{delivery_id}/fulfil": "fulfils it (JSON, or multipart with a copy)",
    "/api/v1/deliveries/{delivery_id}/deny": "denies it, with a reason",
    "/api/v1/deliveries/{delivery_id}/need-info": "asks the resident a question",
    "/api/v1/hashing-key": (
        "the signatory's key for keyed hashes of identifiers ([holdings.md](holdings.md))"
    ),
    "/api/v1/holdings": (
        "PUT (replace all) or POST (add): which residents the signatory holds data about, as "
        "keyed hashes"
    ),
    "/api/v1/lineage-events": (
        "what was done with a resident's data (used for, shared with), as keyed hashes"
    ),
    "/api/v1/alerts": "the charter alerts aimed at the partner's organisation",
    "/api/v1/alerts/{alert_id}/response": "answer an alert (explanation and action plan)",
    "/api/v1/self-evaluations/{year}": "the organisation's yearly self-evaluation",
    # Receipts and the public log
    "/recus/{receipt_id}": "a receipt, printable, with a QR code to its verification",
    "/recus/{receipt_id}.jws": "the raw signed receipt (compact JWS)",
    "/verifier": "verify any receipt (paste it, or open the QR code)",
    "/.well-known/jwks.json": "the desk's public keys for receipts",
    "/transparence": (
        "the public receipt log explained: what it proves, its latest signed tree head — see "
        "[receipts.md](receipts.md)"
    ),
    "/transparence/journal/tete.json": (
        "the latest signed tree head (size, root hash, JWS `desk-tree-head+jws`)"
    ),
    "/transparence/journal/tetes.json": "every signed head, by size, 1,000 a page (`?depuis=N`)",
    "/transparence/journal/feuilles.json": (
        "leaf hashes in log order (RFC 9162 hashing), 1,000 a page (`?depuis=N&limite=M`): "
        "enough to recompute every root; never a receipt's content"
    ),
    "/transparence/journal/inclusion.json": (
        "a receipt's inclusion proof (audit path) under a signed head "
        "(`?feuille=HASH&taille=N`; the latest head when `taille` is omitted)"
    ),
    "/recus/{receipt_id}/inclusion.json": (
        "a receipt's inclusion proof; 404 while the receipt waits for the sequencer (seconds)"
    ),
    "/transparence/journal/coherence.json": (
        "the consistency proof between two signed heads (`?de=M&a=N`)"
    ),
    "/transparence/checkpoint.json": (
        "301 to `tete.json`: the old hash chain's address (the chain published every "
        "receipt's content and is gone)"
    ),
    "/transparence/chaine.json": "410: the old hash chain's address",
}

# Answered before the routes (middleware) or added by `desk demo`: not in app.routes.
OTHER_URLS: tuple[tuple[str, str, str], ...] = (
    (
        "/healthz",
        "GET",
        "liveness: the process answers (JSON, no database touch, no cookie) — see "
        "[operations.md](operations.md#health-endpoints)",
    ),
    (
        "/readyz",
        "GET",
        "readiness: the database answers and every migration is applied; otherwise 503 "
        "problem+json naming what is missing",
    ),
    ("/dev/mailbox", "GET", "demo mode only: the emails the desk sent"),
    ("/dev/mailbox.json", "GET", "demo mode only: the same, as JSON"),
    ("/static/…", "GET", "stylesheets (`static/`), one file at a time"),
)


def _default(value: object) -> str:
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if value == "":
        return "empty"
    return f"`{value}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def configuration() -> str:
    from desk.settings import Settings

    fields = {f.name: f for f in dataclasses.fields(Settings) if f.name != "extra"}
    undocumented = sorted(set(fields) - set(SETTINGS))
    unknown = sorted(set(SETTINGS) - set(fields))
    if undocumented or unknown:
        raise LookupError(
            f"tools/docs_gen.py SETTINGS: undocumented {undocumented}, no such field {unknown}"
        )
    lines = [
        "# Configuration",
        "",
        "<!-- Generated by tools/docs_gen.py from desk/settings.py: edit them, then run",
        "     .venv/bin/python tools/docs_gen.py -->",
        "",
        "Every setting is an environment variable, `DESK_` + the field of `Settings` "
        "(`desk/settings.py`) in capitals.",
        "Durations are in seconds; rate limits are written `N per [M] unit` "
        "(`10 per hour`, `30 per 10 minutes`).",
        "",
        "| variable | default | meaning |",
        "|---|---|---|",
    ]
    for name, doc in SETTINGS.items():
        default = doc.default or _default(fields[name].default)
        lines.append(f"| `DESK_{name.upper()}` | {default} | {_cell(doc.meaning)} |")
    lines += [
        "",
        "Read outside `Settings`:",
        "",
        "| variable | default | meaning |",
        "|---|---|---|",
    ]
    for variable, default, meaning in OTHER_VARIABLES:
        lines.append(f"| `{variable}` | {default} | {_cell(meaning)} |")
    return "\n".join(lines) + "\n"


def _app_routes() -> dict[str, set[str]]:
    from starlette.routing import Mount, Route

    from desk.app import create_app
    from desk.settings import Settings

    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(
            secret_key="docs",
            data_dir=Path(data_dir),
            demo=True,
            franceconnect_issuer="https://franceconnect.invalid",
            franceconnect_client_id="docs",
            franceconnect_client_secret="docs",
        )
        app = create_app(settings)
    found: dict[str, set[str]] = {}
    for route in app.routes:
        if isinstance(route, Route):
            found.setdefault(route.path, set()).update((route.methods or set()) - {"HEAD"})
        elif not isinstance(route, Mount):
            raise TypeError(f"tools/docs_gen.py does not know how to list {route!r}")
    return found


METHOD_ORDER = ("GET", "POST", "PUT", "PATCH", "DELETE")


def urls() -> str:
    routes = _app_routes()
    undocumented = sorted(set(routes) - set(ROUTES))
    unknown = sorted(set(ROUTES) - set(routes))
    if undocumented or unknown:
        raise LookupError(
            f"tools/docs_gen.py ROUTES: undocumented {undocumented}, no such route {unknown}"
        )
    lines = [
        "# URL map",
        "",
        "<!-- Generated by tools/docs_gen.py from the app's routes: edit ROUTES there, then",
        "     run .venv/bin/python tools/docs_gen.py -->",
        "",
        "Every address the desk answers, grouped by who uses it. Who may call each one is in "
        "the access matrix (`tests/security/test_access_matrix.py`).",
        "",
        "| URL | methods | what |",
        "|---|---|---|",
    ]
    for path, description in ROUTES.items():
        methods = ", ".join(m for m in METHOD_ORDER if m in routes[path])
        lines.append(f"| `{path}` | {methods} | {_cell(description)} |")
    lines += [
        "",
        "Answered before the routes, or only by `desk demo`:",
        "",
        "| URL | methods | what |",
        "|---|---|---|",
    ]
    for path, methods, description in OTHER_URLS:
        lines.append(f"| `{path}` | {methods} | {_cell(description)} |")
    return "\n".join(lines) + "\n"


def documents() -> dict[Path, str]:
    return {CONFIGURATION: configuration(), URLS: urls()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a document is stale")
    args = parser.parse_args(argv)
    stale = []
    for path, text in documents().items():
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current == text:
            continue
        stale.append(path)
        if not args.check:
            path.write_text(text, encoding="utf-8")
    for path in stale:
        print(f"{'stale' if args.check else 'wrote'} {path.relative_to(ROOT)}")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    raise SystemExit(main())
