"""Logging for operators: JSON lines (or plain text), each carrying the request or job it
belongs to, and never a person's email, name, token or a query string.

`configure_logging` is called once per process (serve, worker, demo, each uvicorn worker).
The request and job ids live in context variables, so every line written while a request or
a job runs carries them without passing them around.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
import time
from collections.abc import Iterator
from typing import Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "desk_request_id", default=None
)
job_var: contextvars.ContextVar[tuple[int, str] | None] = contextvars.ContextVar(
    "desk_job", default=None
)

# Structured fields a log call may pass with `extra=` and that the formatters write out.
EXTRA_FIELDS = ("method", "route", "status", "duration_ms")

# Defence in depth: an address that slipped into a message (an SMTP error naming the refused
# recipient, say) is masked before the line is written. The desk's own Message-IDs
# (<idempotency-key@desk.invalid>) name no one and are kept.
_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@(?!desk\.invalid\b)[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")

# Third-party loggers that would write personal data or noise at DEBUG: SQL with its
# parameters (tortoise), SMTP conversations (aiosmtplib, aiosmtpd), full URLs (httpx).
_QUIET = {
    "tortoise": logging.INFO,
    "tortoise.db_client": logging.INFO,
    "asyncpg": logging.INFO,
    "aiosqlite": logging.INFO,
    "aiosmtplib": logging.WARNING,
    "mail.log": logging.WARNING,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "multipart": logging.INFO,
    "python_multipart": logging.INFO,
    "asyncio": logging.INFO,
    # Replaced by our own one line per request (desk.access).
    "uvicorn.access": logging.WARNING,
}


def scrub(text: str) -> str:
    return _EMAIL_RE.sub("[email]", text)


def _context_fields() -> dict[str, Any]:
    fields: dict[str, Any] = {}
    request_id = request_id_var.get()
    if request_id:
        fields["request_id"] = request_id
    job = job_var.get()
    if job:
        fields["job_id"], fields["job_kind"] = job
    return fields


class ContextFilter(logging.Filter):
    """Stamps the current request / job ids on the record (read by both formatters)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context_fields().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        for name in ("request_id", "job_id", "job_kind", *EXTRA_FIELDS):
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exc"] = scrub(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        tags = [
            f"{name}={getattr(record, name)}"
            for name in ("request_id", "job_id", "job_kind", *EXTRA_FIELDS)
            if getattr(record, name, None) is not None
        ]
        return scrub(f"{text} [{' '.join(tags)}]" if tags else text)


def configure_logging(log_format: str = "json", level: str | int = "INFO") -> None:
    """Replace the root logger's handlers with one stderr handler in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Library warnings (deprecations…) become log lines too, not stray text on stderr.
    logging.captureWarnings(True)
    quiet_third_parties()
    # uvicorn's own loggers would otherwise print through their own handlers too.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True


def quiet_third_parties() -> None:
    for name, floor in _QUIET.items():
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < floor:
            logger.setLevel(floor)


@contextlib.contextmanager
def job_context(job_id: int, kind: str) -> Iterator[None]:
    """Every line logged inside carries this outbox job's id and kind."""
    token = job_var.set((job_id, kind))
    try:
        yield
    finally:
        job_var.reset(token)
