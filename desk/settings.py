"""One Settings object, read from DESK_* environment variables."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite://desk.sqlite3"
    # Signs sessions, login links, partner answer links and CSRF tokens.
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
    mail_from: str = "Le guichet des données <guichet@example.invalid>"
    demo: bool = False
    # Residents' sessions; staff sessions (later) are shorter.
    session_max_age: int = 8 * 3600
    https_only: bool = False
    login_link_max_age: int = 600
    answer_link_max_age: int = 100 * 24 * 3600
    download_link_max_age: int = 7 * 24 * 3600
    upload_max_bytes: int = 10 * 1024 * 1024
    outbox_max_attempts: int = 8
    outbox_base_delay: float = 5.0
    outbox_max_delay: float = 3600.0
    worker_poll_interval: float = 1.0
    # Delay, in seconds, before the simulated adapter answers (demo and load tests).
    simulated_delay: float = 4.0
    # The charter's alert ladder (desk.charter.alerts): days from alert 1 to the formal notice
    # while deliveries stay overdue, late deliveries in a rolling year that also call for it,
    # and days from the formal notice to the proposal of exclusion.
    alert_formal_notice_days: int = 15
    alert_rolling_overdue: int = 5
    alert_exclusion_days: int = 30
    extra: dict[str, Any] = field(default_factory=dict)

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
            elif isinstance(default, int):
                kwargs[name] = int(raw)
            elif isinstance(default, float):
                kwargs[name] = float(raw)
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
