"""What the web app and the worker share at run time: settings, keys, mail, templates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment

from desk.mail.render import render_email
from desk.mail.sender import SmtpMailer
from desk.receipts.keys import Keyring
from desk.settings import Settings
from desk.web.templating import build_environment


@dataclass
class Runtime:
    settings: Settings
    keyring: Keyring
    mailer: SmtpMailer
    env: Environment

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        return cls(
            settings=settings,
            keyring=Keyring.load_or_create(settings.data_dir),
            mailer=SmtpMailer(settings),
            env=build_environment(),
        )

    @property
    def issuer(self) -> str:
        return self.settings.base_url.rstrip("/")

    async def send_mail(
        self,
        *,
        to: str,
        template: str,
        context: dict[str, Any],
        idempotency_key: str,
        locale: str = "fr",
        reply_to: str | None = None,
    ) -> str:
        """Render templates/email/<template>/ and send it; returns the Message-ID."""
        rendered = render_email(self.env, template, {**context, "base_url": self.issuer}, locale)
        return await self.mailer.send(
            to=to,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            idempotency_key=idempotency_key,
            reply_to=reply_to,
        )
