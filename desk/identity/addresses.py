"""Email addresses as people type them into a login form: trimmed, lower-case, plausible."""

from __future__ import annotations

import re

from desk.core.errors import DeskError
from desk.core.translatable import N_

# Deliberately loose: one "@", something on each side, a dot in the domain, no spaces.
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")


class InvalidEmail(DeskError):
    def __init__(self) -> None:
        super().__init__(
            N_(
                "Cette adresse électronique n'est pas valide. Vérifiez-la : elle ressemble à "
                "prenom.nom@exemple.fr."
            ),
            code="invalid",
        )


def normalise_email(raw: str | None) -> str:
    """Trimmed, lower-case address, or InvalidEmail."""
    email = (raw or "").strip().lower()
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise InvalidEmail()
    return email
