"""A session's activity is written at most once a minute, even when its pages arrive together
(each such write takes SQLite's write lock: a burst of them held every page back)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import httpx
import pytest

from desk.core import clock
from desk.identity.models import WebSession
from desk.identity.sessions import COOKIE
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from tests.desk.identity.sessions_support import row_of
from tests.desk.residents.helpers import log_in


async def test_pages_arriving_together_write_the_sessions_activity_once(
    client: httpx.AsyncClient,
    worker: Worker,
    mail_sink: MailSink,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await log_in(client, worker, mail_sink, "alex@exemple.fr")
    value = client.cookies[COOKIE]
    row = await row_of(value)
    assert row is not None
    await WebSession.filter(id=row.id).update(last_seen_at=clock.now() - timedelta(minutes=5))

    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        pages = await asyncio.gather(*(client.get("/mon-espace") for _ in range(8)))
    assert all(page.status_code == 200 for page in pages)
    writes = [
        r for r in caplog.records if "UPDATE" in r.getMessage() and "web_session" in r.getMessage()
    ]
    assert len(writes) == 1
    touched = await row_of(value)
    assert touched is not None
    assert touched.last_seen_at > clock.now() - timedelta(minutes=1)
