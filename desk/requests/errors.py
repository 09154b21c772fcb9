"""Errors the request rules raise; each carries a French message for the person who asked."""

from __future__ import annotations


class RequestError(Exception):
    """`code` maps to an HTTP status: invalid → 400/422, not_found → 404, conflict → 409."""

    def __init__(self, message: str, *, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
