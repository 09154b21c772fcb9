"""The desk's one error type: a refusal in French for the person who asked, and its kind.

Every domain raises `DeskError` (or a subclass) when a rule says no; `code` says what kind of
no it is, and `STATUS_BY_CODE` is the one place that kind becomes an HTTP status (desk.web.errors
answers with it; the partner API's problem+json bodies use it too).
"""

from __future__ import annotations

# What each kind of refusal answers over HTTP; an unknown code is a plain 400.
STATUS_BY_CODE = {
    "invalid": 422,
    "not_found": 404,
    "conflict": 409,
    "forbidden": 403,
    "gone": 410,
    "too_many": 429,
}


class DeskError(Exception):
    """`code` maps to an HTTP status: invalid → 422, not_found → 404, conflict → 409, …"""

    def __init__(self, message: str, *, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def status_of(exc: DeskError, *, default: int = 400) -> int:
    """The HTTP status of a refusal: its own `status` when it names one, else by its code."""
    own = getattr(exc, "status", None)
    if isinstance(own, int) and own:
        return own
    return STATUS_BY_CODE.get(exc.code, default)
