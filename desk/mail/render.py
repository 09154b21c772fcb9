"""Rendering emails from templates/email/<name>/{subject.txt, body.txt, body.html}."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, TemplateNotFound

from desk.core.i18n import DEFAULT_LOCALE


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str | None


def render_email(
    env: Environment, name: str, context: dict[str, Any], locale: str = DEFAULT_LOCALE
) -> RenderedEmail:
    values = {**context, "locale": locale}
    subject = env.get_template(f"email/{name}/subject.txt").render(values)
    text = env.get_template(f"email/{name}/body.txt").render(values)
    try:
        html: str | None = env.get_template(f"email/{name}/body.html").render(values)
    except TemplateNotFound:
        html = None
    return RenderedEmail(subject=" ".join(subject.split()), text=text, html=html)
