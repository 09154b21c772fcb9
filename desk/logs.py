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
import threading
import time
from collections.abc import Iterator
from types import TracebackType
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
# A match may start only where a run of local-part characters starts (the look-behind): the
# former pattern restarted at every character of a long run and took time quadratic in it
# (30,000 characters held the event loop for 9 s). Now each character is looked at a bounded
# number of times, and no part of the pattern can match the same text two ways.
_LOCAL = r"A-Za-z0-9._%+\-"
_EMAIL_RE = re.compile(
    rf"(?<![{_LOCAL}])[{_LOCAL}]+@(?!desk\.invalid\b)[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+"
)
# What one message or one traceback may write: a value pasted into a form cannot make a line
# of megabytes (nor hold the loop while it is scanned).
MAX_SCRUBBED = 64 * 1024
# Characters an address is made of: a text cut inside an address loses its whole tail, so the
# part left (without its domain's dot) cannot slip past the pattern.
_ADDRESS_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-@"

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
    """The text with every email address masked, cut to MAX_SCRUBBED characters."""
    if len(text) > MAX_SCRUBBED:
        cut = len(text) - MAX_SCRUBBED
        text = f"{text[:MAX_SCRUBBED].rstrip(_ADDRESS_CHARS)}… [{cut} caractères coupés]"
    return _EMAIL_RE.sub("[email]", text)


class ScrubbedLogRecord(logging.LogRecord):
    """Every record of the process, whoever formats it, gives scrubbed text.

    Installed as the record factory by `configure_logging`, so handlers set up by others
    (uvicorn's default logging config in `desk demo` and `desk partner-sim`, a library's own)
    write the same masked message and traceback as ours: the standard Formatter reads the
    message through getMessage and keeps the formatted traceback in exc_text.
    """

    _exc_text: str | None = None
    _stack_info: str | None = None

    def getMessage(self) -> str:  # noqa: N802 - logging's name
        return scrub(super().getMessage())

    @property
    def exc_text(self) -> str | None:
        return self._exc_text

    @exc_text.setter
    def exc_text(self, value: str | None) -> None:
        self._exc_text = None if value is None else scrub(value)

    @property
    def stack_info(self) -> str | None:
        return self._stack_info

    @stack_info.setter
    def stack_info(self, value: str | None) -> None:
        self._stack_info = None if value is None else scrub(value)


def _log_uncaught(
    kind: type[BaseException], value: BaseException, tb: TracebackType | None
) -> None:
    """sys.excepthook: an uncaught error is logged (scrubbed) instead of printed raw."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, tb)
        return
    logging.getLogger("desk").critical("uncaught error", exc_info=(kind, value, tb))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None or issubclass(args.exc_type, SystemExit):
        return
    logging.getLogger("desk").critical(
        "uncaught error in thread %s",
        getattr(args.thread, "name", "?"),
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )


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
            line["exc"] = scrub(record.exc_text or self.formatException(record.exc_info))
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
    # Before any handler: every record made from now on, in any thread, is scrubbed.
    logging.setLogRecordFactory(ScrubbedLogRecord)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread
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
