"""Our routes mounted on the app, and a worker that sends the staff login mail."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette

from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.settings import Settings
from tests.desk.staff.support import running_app, staff_worker


@pytest.fixture
async def app(settings: Settings, mail_sink: MailSink) -> AsyncIterator[Starlette]:
    async for application in running_app(settings, mail_sink):
        yield application


@pytest.fixture
def worker(app: Starlette) -> Worker:
    return staff_worker(app)
