"""Shared by the staff, back office and deep-link tests: the app with their routes mounted, a
worker that knows the staff login mail, and logging in as staff through the mailed link."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator, Mapping

import httpx
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette
from tortoise.backends.base.executor import EXECUTOR_CACHE

from desk.app import create_app
from desk.backoffice import routes as backoffice_routes
from desk.jobs import job_registry
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.residents import deeplinks
from desk.settings import Settings
from desk.staff import routes as staff_routes
from desk.staff.models import StaffMember
from desk.staff.services import MAIL_JOB_KIND, add_staff, send_staff_login_link
from tests.helpers import csrf_token, form_token


def mount_routes(app: Starlette) -> Starlette:
    """Append our routes (until desk/app.py mounts them; then this adds nothing)."""
    present = {getattr(route, "name", None) for route in app.router.routes}
    for route in [*staff_routes.routes, *backoffice_routes.routes, *deeplinks.routes]:
        if getattr(route, "name", None) not in present:
            app.router.routes.append(route)
    return app


async def running_app(settings: Settings, mail_sink: MailSink) -> AsyncIterator[Starlette]:
    EXECUTOR_CACHE.clear()
    application = mount_routes(create_app(settings, mail_sink=mail_sink))
    async with LifespanManager(application):
        yield application


def staff_worker(app: Starlette) -> Worker:
    """The desk's own job registry, plus the staff login mail (until desk/jobs.py wires it)."""
    registry = job_registry()
    registry.handlers.setdefault(MAIL_JOB_KIND, send_staff_login_link)
    s = app.state.settings
    return Worker(
        registry=registry,
        context=app.state.runtime,
        base_delay=s.outbox_base_delay,
        max_delay=s.outbox_max_delay,
        poll_interval=s.worker_poll_interval,
    )


async def ask_staff_link(client: httpx.AsyncClient, email: str) -> httpx.Response:
    token = await csrf_token(client, "/equipe/connexion")
    return await client.post("/equipe/connexion", data={"csrftoken": token, "email": email})


async def staff_link(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink, email: str
) -> str:
    response = await ask_staff_link(client, email)
    assert response.status_code == 200
    await worker.run_until_idle()
    mails = mail_sink.to(email)
    assert mails, "no staff login mail arrived"
    links = [link for link in mails[-1].links if "/equipe/connexion/" in link]
    assert links
    return links[0].removeprefix("http://testserver")


async def staff_log_in(
    client: httpx.AsyncClient,
    worker: Worker,
    mail_sink: MailSink,
    *,
    email: str = "agent@guichet.exemple.invalid",
    role: str = "back_office",
    name: str = "Agent Test",
) -> StaffMember:
    staff = await add_staff(email=email, display_name=name, role=role)
    path = await staff_link(client, worker, mail_sink, email)
    assert (await client.get(path)).status_code == 200
    done = await client.post(path, data={"csrftoken": form_token(client)})
    assert done.status_code == 303
    return staff


async def post_form(
    client: httpx.AsyncClient, path: str, data: Mapping[str, str | list[str]]
) -> httpx.Response:
    token = form_token(client) or await csrf_token(client)
    return await client.post(path, data={"csrftoken": token, **data})


def text(response: httpx.Response) -> str:
    return html.unescape(response.text)
