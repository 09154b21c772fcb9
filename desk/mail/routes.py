"""/dev/mailbox: the mail the demo's SMTP sink caught. Mounted in demo mode only."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from desk.mail.sink import MailSink
from desk.web.templating import render


def _sink(request: Request) -> MailSink:
    sink: MailSink = request.app.state.mail_sink
    return sink


async def mailbox(request: Request) -> Response:
    messages = list(reversed(_sink(request).messages()))
    return render(request, "dev/mailbox.html", {"messages": messages})


async def mailbox_json(request: Request) -> Response:
    messages = _sink(request).messages()
    to = request.query_params.get("to")
    if to:
        messages = [m for m in messages if to.lower() in (t.lower() for t in m.to)]
    return JSONResponse([m.as_dict() for m in messages])


routes = [
    Route("/dev/mailbox", mailbox, name="dev_mailbox"),
    Route("/dev/mailbox.json", mailbox_json, name="dev_mailbox_json"),
]
