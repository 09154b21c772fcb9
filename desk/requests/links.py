"""Signed, expiring links a signatory uses to answer a delivery without an account."""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SALT = "desk.partner-answer"


class LinkInvalid(Exception):
    def __init__(self, expired: bool) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def answer_token(secret: str, *, delivery_id: int, signatory_id: int) -> str:
    return URLSafeTimedSerializer(secret, salt=SALT).dumps({"d": delivery_id, "s": signatory_id})


def read_answer_token(secret: str, token: str, *, max_age: int) -> tuple[int, int]:
    """(delivery_id, signatory_id), or LinkInvalid."""
    try:
        data = URLSafeTimedSerializer(secret, salt=SALT).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise LinkInvalid(expired=True) from exc
    except BadSignature as exc:
        raise LinkInvalid(expired=False) from exc
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("d"), int)
        or not isinstance(data.get("s"), int)
    ):
        raise LinkInvalid(expired=False)
    return data["d"], data["s"]


def answer_path(token: str) -> str:
    return f"/partenaires/reponse/{token}"
