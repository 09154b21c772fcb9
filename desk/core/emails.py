"""The one rule for an email address typed by a person: trimmed, lower-case, plausible.

Every package that takes an address (residents, staff, organisations, joining the charter)
uses it; it lives at the bottom so that none of them has to import another for it.
"""

from __future__ import annotations

import re

from desk.core.errors import DeskError
from desk.core.translatable import N_

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")
MAX_EMAIL_CHARS = 254


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
    if len(email) > MAX_EMAIL_CHARS or not EMAIL_RE.match(email):
        raise InvalidEmail()
    return email
