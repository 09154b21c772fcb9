"""The adapter SDK: everything of the desk an adapter may use, and nothing else.

Adapters (the `adapters` package, or a town's own, found through the `desk.adapters`
entry-point group) import the desk only through this module, so the desk can change behind
it; an import-linter contract in pyproject.toml keeps it so. The envelope, dispatch, answer,
the Adapter protocol, its context and the guarded HTTP transport are in `adapters.base` and
`adapters.network`, beside the adapters themselves.
"""

from __future__ import annotations

from desk.core.clock import add_months, now
from desk.core.translatable import N_
from desk.mail.sender import MailError, PermanentMailError
from desk.partners.webhooks import is_valid_secret, sign
from desk.requests import assurance

__all__ = [
    "N_",
    "MailError",
    "PermanentMailError",
    "add_months",
    "assurance",
    "is_valid_secret",
    "now",
    "sign",
]
