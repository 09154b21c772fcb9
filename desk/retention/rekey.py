"""Rotating DESK_SECRET_KEY: every secret the database holds encrypted under the old key is
encrypted again under the new one, in one transaction (`desk keys reencrypt`).

Encrypted values are found by their prefix (`desk.core.crypto.PREFIX`), wherever they sit: a
signatory's hashing key, its channel settings (webhook secrets, a REST token), and the login
links still waiting in the outbox. Every value is decrypted before anything is written: a value
that neither key opens stops the run with nothing changed. A value the new key already opens is
left as it is, so running the command twice is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.transactions import in_transaction

from desk.audit.log import record_action
from desk.core import crypto
from desk.outbox.models import JobState, OutboxJob
from desk.registry.models import Signatory


class UnreadableSecret(Exception):
    """A stored value neither key decrypts; `where` names its row, never its content."""

    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


@dataclass(frozen=True)
class RekeyReport:
    hashing_keys: int
    channel_settings: int
    outbox_jobs: int
    already_new: int

    @property
    def values(self) -> int:
        return self.hashing_keys + self.channel_settings + self.outbox_jobs


class _Rekeyer:
    def __init__(self, old_key: str, new_key: str) -> None:
        self.old_key = old_key
        self.new_key = new_key
        self.changed = 0
        self.already_new = 0

    def value(self, stored: str, where: str) -> str:
        if not crypto.is_encrypted(stored):
            return stored
        try:
            plaintext = crypto.decrypt(self.old_key, stored)
        except ValueError:
            try:
                crypto.decrypt(self.new_key, stored)
            except ValueError:
                raise UnreadableSecret(where) from None
            self.already_new += 1
            return stored
        self.changed += 1
        return crypto.encrypt(self.new_key, plaintext)

    def tree(self, data: Any, where: str) -> Any:
        """The same JSON value with every encrypted string encrypted again."""
        if isinstance(data, str):
            return self.value(data, where)
        if isinstance(data, list):
            return [self.tree(item, where) for item in data]
        if isinstance(data, dict):
            return {key: self.tree(item, where) for key, item in data.items()}
        return data


async def reencrypt_secrets(*, old_key: str, new_key: str) -> RekeyReport:
    """Encrypt every stored secret again under `new_key`; UnreadableSecret changes nothing."""
    if not old_key or old_key == new_key:
        raise ValueError("the previous key must be given and differ from the new one")
    rekeyer = _Rekeyer(old_key, new_key)
    counts = {"hashing_keys": 0, "channel_settings": 0, "outbox_jobs": 0}
    async with in_transaction() as conn:
        for signatory in await Signatory.all().using_db(conn).select_for_update():
            fields: list[str] = []
            before = rekeyer.changed
            where = f"signatory:{signatory.id}"
            if signatory.hashing_key:
                signatory.hashing_key = rekeyer.value(signatory.hashing_key, where)
                if rekeyer.changed > before:
                    counts["hashing_keys"] += 1
                    fields.append("hashing_key")
            before = rekeyer.changed
            settings = rekeyer.tree(signatory.adapter_settings, where)
            if rekeyer.changed > before:
                signatory.adapter_settings = settings
                counts["channel_settings"] += 1
                fields.append("adapter_settings")
            if fields:
                await signatory.save(using_db=conn, update_fields=fields)
        # Finished jobs keep no secret (login links drop their token once the mail is out).
        waiting = OutboxJob.exclude(state=JobState.DONE).using_db(conn).select_for_update()
        for job in await waiting:
            before = rekeyer.changed
            payload = rekeyer.tree(job.payload, f"outbox_job:{job.id}")
            if rekeyer.changed > before:
                job.payload = payload
                await job.save(using_db=conn, update_fields=["payload"])
                counts["outbox_jobs"] += 1
        report = RekeyReport(**counts, already_new=rekeyer.already_new)
        # Counts only: which rows, never what they held.
        await record_action(
            action="keys.secret_key_rotated",
            actor="system",
            detail={**counts, "already_new": rekeyer.already_new},
            connection=conn,
        )
    return report
