"""`desk partners …`: a signatory's channel (adapter and its settings), its API clients and
their secrets, and its identifier-hashing key."""

from __future__ import annotations

import argparse
import asyncio
import sys

from desk.cli._common import Subparsers, settings
from desk.core.translatable import N_
from desk.settings import Settings


def cmd_partners(args: argparse.Namespace) -> int:
    """Partner channel and API credentials: configure the adapter, create a client, rotate its
    secret, give the hashing key."""
    # Imported when this command runs: `desk --help` and the other commands start fast.
    from desk.db import connected
    from desk.partners import clients
    from desk.registry.models import Signatory

    async def run() -> int:
        current = settings()
        async with connected(current.database_url):
            if args.action == "configure":
                return await _configure_channel(args, current)
            if args.action == "create-client":
                try:
                    cred = await clients.create_client(slug=args.target, label=args.label or "")
                except clients.UnknownSignatory:
                    print(f"Aucun signataire « {args.target} ».", file=sys.stderr)
                    return 1
            elif args.action == "revoke-secret":
                return await _revoke_secret(args)
            elif args.action == "rotate-secret":
                try:
                    cred = await clients.rotate_secret(client_id=args.target)
                except LookupError:
                    print(f"Aucun client actif « {args.target} ».", file=sys.stderr)
                    return 1
            else:
                signatory = await Signatory.get_or_none(slug=args.target)
                if signatory is None:
                    print(f"Aucun signataire « {args.target} ».", file=sys.stderr)
                    return 1
                key = await clients.hashing_key(signatory=signatory, secret_key=current.secret_key)
                print(f"Clé de hachage de {signatory.slug} (HMAC-SHA256) : {key}")
                return 0
            print(f"Signataire    {cred.signatory_slug}")
            print(f"client_id     {cred.client_id}")
            print(f"client_secret {cred.client_secret}")
            print("Ce secret ne sera plus affiché : transmettez-le au signataire par un canal sûr.")
            return 0

    return asyncio.run(run())


async def _revoke_secret(args: argparse.Namespace) -> int:
    """`desk partners revoke-secret CLIENT_ID --prefix P`: its tokens stop working at once."""
    # Imported when this command runs: `desk --help` and the other commands start fast.
    from desk.partners import clients

    if not args.prefix:
        print("Indiquez le début du secret à révoquer : --prefix (8 caractères).", file=sys.stderr)
        return 1
    if not await clients.revoke_secret(client_id=args.target, prefix=args.prefix):
        print(
            f"Aucun secret actif commençant par « {args.prefix} » pour « {args.target} ».",
            file=sys.stderr,
        )
        return 1
    print(f"Secret {args.prefix}… de {args.target} révoqué : ses jetons ne sont plus acceptés.")
    return 0


async def _configure_channel(args: argparse.Namespace, current: Settings) -> int:
    """`desk partners configure SLUG --adapter NAME --set key=value [--rotate]`."""
    # Imported when this command runs: `desk --help` and the other commands start fast.
    from desk.partners import channels

    try:
        if not args.adapter:
            raise channels.ChannelError(N_("Indiquez le connecteur : --adapter webhook, rest, …"))
        result = await channels.configure_channel(
            slug=args.target,
            adapter=args.adapter,
            settings=channels.parse_assignments(args.set or []),
            secret_key=current.secret_key,
            rotate=args.rotate,
            allowed_networks=current.partner_networks,
        )
    except channels.ChannelError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    print(f"Signataire    {result.slug}")
    print(f"Connecteur    {result.adapter}")
    for key, value in sorted(result.settings.items()):
        print(f"  {key} = {value}")
    for secret in result.generated:
        print(f"Nouveau secret de signature : {secret}")
    if result.generated:
        print("Ce secret ne sera plus affiché : transmettez-le au signataire par un canal sûr.")
    if args.rotate and len(result.secrets.get("secrets", [])) > 1:
        print("L'ancien secret reste valable jusqu'au prochain changement de secret.")
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("partners", help="partner API credentials and hashing keys")
    p.add_argument(
        "action",
        choices=["configure", "create-client", "rotate-secret", "revoke-secret", "hashing-key"],
    )
    p.add_argument(
        "target", help="signatory slug (configure, create-client, hashing-key) or client_id"
    )
    p.add_argument("--label", help="what this client is for (create-client)")
    p.add_argument(
        "--prefix", help="the first 8 characters of the secret to revoke (revoke-secret)"
    )
    p.add_argument("--adapter", help="channel: email, webhook, rest, postal, … (configure)")
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="an adapter setting, repeatable; JSON for lists (configure)",
    )
    p.add_argument(
        "--rotate", action="store_true", help="new webhook secret, the previous kept (configure)"
    )
    p.set_defaults(func=cmd_partners)
