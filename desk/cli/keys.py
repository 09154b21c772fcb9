"""`desk keys [jwks|reencrypt]`: the receipts' public keys, and re-encrypting the stored
secrets after DESK_SECRET_KEY changed."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

from desk.cli._common import Subparsers, settings


def cmd_keys(args: argparse.Namespace) -> int:
    # Imported when this command runs: `desk --help` and the other commands start fast.
    from desk.receipts.keys import Keyring

    if getattr(args, "action", "jwks") == "reencrypt":
        return _reencrypt_secrets()
    keyring = Keyring.load_or_create(settings().data_dir)
    print(json.dumps(keyring.jwks(), indent=2))
    return 0


def _reencrypt_secrets() -> int:
    """`desk keys reencrypt`: after DESK_SECRET_KEY changed, with the old one in
    DESK_PREVIOUS_SECRET_KEY (an environment variable: a command line is visible to `ps`)."""
    # Imported when this command runs: `desk --help` and the other commands start fast.
    from desk.db import connected
    from desk.retention import rekey

    current = settings()
    previous = os.environ.get("DESK_PREVIOUS_SECRET_KEY", "")
    if not previous or previous == current.secret_key:
        print(
            "Mettez la nouvelle clé dans DESK_SECRET_KEY et l'ancienne dans "
            "DESK_PREVIOUS_SECRET_KEY, puis relancez.",
            file=sys.stderr,
        )
        return 1

    async def run() -> int:
        async with connected(current.database_url):
            try:
                report = await rekey.reencrypt_secrets(old_key=previous, new_key=current.secret_key)
            except rekey.UnreadableSecret as exc:
                print(
                    f"Aucune des deux clés ne déchiffre le secret de {exc.where} : rien n'a "
                    "été modifié.",
                    file=sys.stderr,
                )
                return 1
        print(
            f"Secrets chiffrés à nouveau : {report.hashing_keys} clé(s) de hachage, "
            f"{report.channel_settings} canal(aux), {report.outbox_jobs} envoi(s) en attente "
            f"({report.already_new} déjà sous la nouvelle clé)."
        )
        return 0

    return asyncio.run(run())


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "keys", help="print the receipt public keys (JWKS); reencrypt after a new DESK_SECRET_KEY"
    )
    p.add_argument("action", nargs="?", default="jwks", choices=["jwks", "reencrypt"])
    p.set_defaults(func=cmd_keys)
