"""The adapter interface: what the desk hands a channel, and what comes back.

Adapters see an Envelope, never the database. They are found by name through the
`desk.adapters` entry-point group, so a town can plug in its own without touching the desk.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import EntryPoint, entry_points
from typing import Any, ClassVar, Protocol


@dataclass(frozen=True)
class Envelope:
    delivery_id: int
    request_reference: str
    kind: str  # discovery | access | erasure | objection
    signatory_slug: str
    signatory_name: str
    # Only the identifiers the signatory accepts, e.g. {"email": "..."}.
    identifiers: dict[str, str]
    received_at: datetime
    due_at: datetime
    # Where the partner answers: a signed page for people, an API for machines.
    answer_url: str
    idempotency_key: str
    # The delivery's state when the envelope was made (pending, sent, acknowledged, ...).
    state: str = "pending"
    # What the adapter's deliver() reported (e.g. the partner's own request id), for poll().
    dispatch_reference: str | None = None
    # The signatory's declarations, so an automated answer can name them.
    declarations: list[dict[str, Any]] = field(default_factory=list)
    # How the desk established who filed: "email", "franceconnect" or "in_person".
    assurance: str = "email"
    # None: the request concerns the whole organisation. Otherwise the one declaration it
    # names (an objection or a consent withdrawal for one purpose): {"declaration": code,
    # "title", "purposes", "legal_basis", "ground": "objection" | "consent_withdrawal"}.
    scope: dict[str, str] | None = None


@dataclass(frozen=True)
class Dispatch:
    """What an adapter reports after handing a delivery over."""

    reference: str
    # Seconds after which the desk should poll for an answer; None: the partner will call back.
    # Later polls come at the same interval.
    poll_after: float | None = None


@dataclass(frozen=True)
class AnswerFile:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class Answer:
    """A partner's answer brought back by `poll`: an action of the delivery state machine."""

    action: str  # acknowledge | extend | fulfil | deny
    outcome: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    detail: str | None = None
    file: AnswerFile | None = None
    # A final answer ends polling; a non-final one (an acknowledgement) asks to poll again.
    final: bool = True


class AdapterError(Exception):
    """A failure worth retrying (network, partner down)."""


class RetryLater(AdapterError):
    """The partner asked us to come back later (HTTP 429/503 with Retry-After)."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentAdapterError(AdapterError):
    """A failure no retry will mend (bad configuration, partner refuses)."""


SendMail = Callable[..., Awaitable[str]]


@dataclass(frozen=True)
class AdapterContext:
    """What the desk lends an adapter: its per-signatory settings and the desk's services."""

    settings: dict[str, Any]
    send_mail: SendMail
    base_url: str
    options: dict[str, Any] = field(default_factory=dict)
    # Internal networks the operator lets adapters reach (DESK_PARTNER_ALLOWED_NETWORKS); any
    # other internal address is refused (adapters.network).
    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()


class Adapter(Protocol):
    kind: ClassVar[str]

    def __init__(self, context: AdapterContext) -> None: ...

    async def deliver(self, envelope: Envelope) -> Dispatch: ...

    async def poll(self, envelope: Envelope) -> Answer | None: ...


def load_adapter(name: str) -> type[Adapter]:
    """The adapter class registered under `name` in the `desk.adapters` entry-point group."""
    ep = _adapter_entry_points().get(name)
    if ep is None:
        raise PermanentAdapterError(f"no adapter named {name!r} is installed")
    adapter: type[Adapter] = ep.load()
    return adapter


@functools.cache
def _adapter_entry_points() -> dict[str, EntryPoint]:
    # Reading entry points scans every installed distribution's metadata: a sixth of the
    # worker's time per delivery when done per call (bench/fanout.py). What is installed
    # does not change while the process runs.
    return {ep.name: ep for ep in entry_points(group="desk.adapters")}


def adapter_names() -> list[str]:
    return sorted(ep.name for ep in entry_points(group="desk.adapters"))
