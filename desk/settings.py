"""One Settings object, read from DESK_* environment variables."""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

# Where templates/ and static/ are: the source checkout, or DESK_ASSETS_DIR when the desk is
# installed from its wheel (the Docker image puts them in /opt/desk/share).
PROJECT_ROOT = Path(os.environ.get("DESK_ASSETS_DIR") or Path(__file__).resolve().parent.parent)
# The most jobs one worker runs at once or claims in one transaction.
MAX_WORKER_JOBS = 1000
# Beyond a minute, holding back for filings would look like a stuck worker.
MAX_INTAKE_YIELD = 60.0


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite://desk.sqlite3"
    # Signs login links, partner answer links and CSRF tokens (sessions live in the database).
    secret_key: str = ""
    base_url: str = "http://127.0.0.1:8000"
    # Directory for the receipt signing key (JWK) and other local state.
    data_dir: Path = Path(".desk")
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_timeout: float = 20.0
    # Total time one SMTP send may take, all steps together: a server trickling bytes slower
    # than this cannot hold a worker (smtp_timeout only bounds each single read).
    smtp_deadline: float = 60.0
    mail_from: str = "Le guichet des données <guichet@example.invalid>"
    demo: bool = False
    # Logs (desk.logs): "json" (one JSON object a line) or "text"; empty lets the command
    # choose (json for serve and worker, text for demo and one-off commands).
    log_format: str = ""
    log_level: str = "INFO"
    # Proxies whose X-Forwarded-For / -Proto `desk serve` trusts (comma-separated, or "*").
    forwarded_allow_ips: str = "127.0.0.1"
    # Server-side sessions (desk.identity.sessions), in seconds. A login lasts session_max_age
    # at most for a resident and staff_session_max_age for staff (shared desks, many people's
    # requests on screen); any session ends after session_idle_timeout without a request.
    session_max_age: int = 8 * 3600
    staff_session_max_age: int = 2 * 3600
    session_idle_timeout: int = 30 * 60
    # Rate limits (desk.web.ratelimit), in the `limits` notation "N per [M] unit".
    # Storage: "memory://" (one process) or "redis://host:port/db" (several instances).
    rate_limit_storage: str = "memory://"
    rate_limit_login_per_email: str = "10 per hour"
    rate_limit_login_per_ip: str = "30 per 10 minutes"
    rate_limit_token_per_client: str = "30 per 10 minutes"
    rate_limit_token_per_ip: str = "60 per 10 minutes"
    rate_limit_answer_per_link: str = "20 per 10 minutes"
    rate_limit_answer_per_ip: str = "60 per 10 minutes"
    # Forms anyone can send (joining the charter, suggesting an improvement, a complaint): each
    # stores text for people to read, so one network address cannot fill the committee's desk.
    rate_limit_public_form_per_ip: str = "30 per hour"
    https_only: bool = False
    login_link_max_age: int = 600
    # FranceConnect (OpenID Connect) for residents; the button shows only when all three are
    # set. The issuer is the provider's base URL (its discovery document is found under it).
    franceconnect_issuer: str = ""
    franceconnect_client_id: str = ""
    franceconnect_client_secret: str = ""
    # The eIDAS level asked for and required in the ID token (eidas1: FranceConnect).
    franceconnect_acr: str = "eidas1"
    answer_link_max_age: int = 100 * 24 * 3600
    download_link_max_age: int = 7 * 24 * 3600
    upload_max_bytes: int = 10 * 1024 * 1024
    outbox_base_delay: float = 5.0
    outbox_max_delay: float = 3600.0
    worker_poll_interval: float = 1.0
    # Jobs one worker process runs at once (they mostly wait on the database, partners, SMTP).
    # A batch of deliveries costs about the same statements whatever its size, so a full claim
    # batch in flight is cheaper per delivery: 32 against 16 cut the worker's CPU per delivery
    # by a fifth to a half (bench/README.md, eighth pass).
    worker_concurrency: int = 32
    # Most jobs one worker claims in one transaction (never more than it has lanes free).
    worker_claim_batch: int = 32
    # Seconds an idle worker, once woken (a new job, its next due job, its poll), waits before
    # claiming, so jobs trickling in are claimed and run together: each claim and batch costs
    # statements whatever its size. A job waits this much longer at most.
    worker_claim_linger: float = 0.03
    # While residents are filing, the most seconds a worker waits between two claims
    # (desk.outbox.intake): the filings get the cores and the database first, the worker
    # catches up when they stop. 0: it never holds back.
    worker_intake_yield: float = 0.5
    # The CPU priority `desk worker` lowers itself to at start (nice, 0-19): on a machine it
    # shares with the web app, pages people wait for come first and the worker takes what they
    # leave; alone on its machine it loses nothing. 0 keeps the priority it was started with.
    worker_nice: int = 10
    # A running job's lease; its worker extends it every third while the job runs, so a job
    # whose worker was killed is taken up by another this long after at most.
    outbox_lease_seconds: float = 60.0
    # Delay, in seconds, before the simulated adapter answers (demo and load tests).
    simulated_delay: float = 4.0
    # Seconds a request's receipt mail waits for the other answers arriving together, so a
    # resident gets one mail listing them instead of one per receipt; the last answer sends it.
    receipt_digest_quiet: float = 120.0
    # The charter's alert ladder (desk.charter.alerts): days from alert 1 to the formal notice
    # while deliveries stay overdue, late deliveries in a rolling year that also call for it,
    # and days from the formal notice to the proposal of exclusion.
    alert_formal_notice_days: int = 15
    alert_rolling_overdue: int = 5
    alert_exclusion_days: int = 30
    # Seconds a snapshot of /statistiques stays good enough to show (the worker refreshes it
    # well before that); older, the page computes the figures again.
    statistics_max_age: int = 900
    # The desk's own data protection officer, shown on /registre-du-guichet (the desk is a
    # data controller too): a name, an address, a mail address, in one line.
    dpo_contact: str = ""
    # Internal networks partner URLs may lead to (CIDR, commas or spaces: "10.20.0.0/16,
    # 127.0.0.1/32"); any other loopback, private, link-local or reserved address is refused,
    # when configured and at each call (adapters.network). Empty: public addresses only.
    partner_allowed_networks: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A typo here would only show at the first partner call: refuse to start instead.
        _ = self.partner_networks
        if not 0 <= self.worker_nice <= 19:
            raise ValueError(
                f"DESK_WORKER_NICE={self.worker_nice}: a nice level from 0 (the priority the "
                "worker was started with) to 19 (the lowest)"
            )
        if not 0 <= self.worker_intake_yield <= MAX_INTAKE_YIELD:  # also refuses nan
            raise ValueError(
                f"DESK_WORKER_INTAKE_YIELD={self.worker_intake_yield}: seconds from 0 (the "
                f"worker never holds back) to {MAX_INTAKE_YIELD}"
            )
        # A worker made of 0 lanes would silently run 1; one of a million would start a million
        # tasks: both are typos, said at start.
        for name in ("worker_concurrency", "worker_claim_batch"):
            value = getattr(self, name)
            if not 1 <= value <= MAX_WORKER_JOBS:
                raise ValueError(
                    f"DESK_{name.upper()}={value}: a number of jobs from 1 to {MAX_WORKER_JOBS}"
                )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        kwargs: dict[str, Any] = {}
        for name, f in cls.__dataclass_fields__.items():
            key = f"DESK_{name.upper()}"
            if key not in env or name == "extra":
                continue
            raw = env[key]
            default = f.default
            if isinstance(default, bool):
                kwargs[name] = _bool(raw)
            elif isinstance(default, int | float):
                try:
                    kwargs[name] = type(default)(raw)
                except ValueError:
                    kind = "an integer" if isinstance(default, int) else "a number"
                    raise ValueError(f"{key}={raw!r}: {kind} is expected") from None
            elif isinstance(default, Path):
                kwargs[name] = Path(raw)
            else:
                kwargs[name] = raw
        kwargs.update(overrides)
        settings = cls(**kwargs)
        if not settings.secret_key:
            settings = replace(settings, secret_key=_local_secret(settings.data_dir))
        return settings

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def franceconnect_enabled(self) -> bool:
        return bool(
            self.franceconnect_issuer
            and self.franceconnect_client_id
            and self.franceconnect_client_secret
        )

    @property
    def partner_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        networks = []
        for item in self.partner_allowed_networks.replace(",", " ").split():
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(
                    f"DESK_PARTNER_ALLOWED_NETWORKS : « {item} » n'est pas un réseau "
                    "(écrivez par exemple 10.20.0.0/16, 127.0.0.1/32 ou fd12::/64)."
                ) from None
        return tuple(networks)

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path


def _local_secret(data_dir: Path) -> str:
    """A secret kept in the data directory, so a single-machine install needs no setup."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "secret.key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
