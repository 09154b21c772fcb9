"""Outbox handlers that email residents (to be written)."""

from __future__ import annotations

from desk.outbox.models import OutboxJob
from desk.runtime import Runtime


async def send_login_link(job: OutboxJob, rt: Runtime) -> None:
    raise NotImplementedError


async def send_notification(job: OutboxJob, rt: Runtime) -> None:
    raise NotImplementedError
