"""Configuring a signatory's channel (adapter): validated when typed in, secrets encrypted at rest.

A wrong URL or a missing secret is refused here, with a French message, rather than at the
first delivery. Secrets the desk generates (a webhook signing secret) are returned once, in
clear, for the operator to hand to the partner; the database only ever holds them encrypted.
"""

from __future__ import annotations

import inspect
import json
import logging
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from adapters.base import PermanentAdapterError, adapter_names, load_adapter
from adapters.network import Network, config_time_check
from adapters.settings import URL_PRIVATE
from desk.audit.log import record_action
from desk.core import crypto
from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.partners.webhooks import new_secret
from desk.registry.models import Signatory

log = logging.getLogger("desk.partners.channels")

# Settings fields holding a signing secret the desk generates when none is given, and which
# `rotate` renews (the newest previous secret stays valid while the partner switches).
ROTATING_FIELD = "secrets"
GENERATING_ADAPTERS = frozenset({"webhook"})
MAX_ROTATING_SECRETS = 2

MSG_UNKNOWN_SIGNATORY = N_("Aucun signataire « {slug} » dans le registre.")
MSG_UNKNOWN_ADAPTER = N_("Aucun connecteur nommé « {name} » : choisissez parmi {names}.")
MSG_SETTINGS_NOT_OBJECT = N_(
    "Les réglages du connecteur doivent être une liste de paires clé=valeur."
)
MSG_ROTATE_UNSUPPORTED = N_(
    "Le changement de secret (rotation) ne concerne que les connecteurs qui signent leurs "
    "messages avec un secret (webhook) ; le connecteur « {name} » n'en a pas."
)
MSG_ROTATE_ONE_SECRET = N_(
    "Pour changer de secret, donnez au plus un nouveau secret (ou aucun : le guichet en crée un)."
)
MSG_CANNOT_DECRYPT = N_(
    "Les secrets enregistrés pour ce signataire ne peuvent pas être déchiffrés : la clé du "
    "guichet (DESK_SECRET_KEY) a changé. Donnez de nouveaux secrets."
)
MSG_INVALID = N_("Réglages du connecteur « {name} » refusés : {reason}")
MSG_BAD_PAIR = N_(
    "Réglage « {pair} » incompris : écrivez clé=valeur, par exemple url=https://exemple.fr/webhooks."
)
MSG_BAD_JSON = N_(
    "La valeur de « {key} » commence comme du JSON mais n'en est pas : "
    'écrivez par exemple ["a", "b"].'
)


# Identifiers a signatory may accept to find a resident: the envelope carries only these
# (desk.requests.dispatch), and the mediation gives a name and postal address for residents
# without email.
IDENTIFIER_LABELS: dict[str, str] = {
    "email": N_("l'adresse électronique"),
    "full_name": N_("le nom et le prénom"),
    "postal_address": N_("l'adresse postale"),
}
MSG_NO_IDENTIFIER = N_(
    "Choisissez au moins un identifiant : sans identifiant, vous ne pourriez retrouver personne."
)
MSG_UNKNOWN_IDENTIFIER = N_("Choisissez les identifiants dans la liste proposée.")
# The demo's adapter answers by itself: never chosen from a signatory's space.
HIDDEN_FROM_SPACE = frozenset({"simulated"})


class ChannelError(DeskError, ValueError):
    """A channel configuration refused; the message is French and says what to correct."""


@dataclass(frozen=True)
class ChannelResult:
    slug: str
    adapter: str
    # The stored settings with every secret masked: safe to print or show.
    settings: dict[str, Any]
    # Every secret now active, in clear, by field (lists: oldest first). Shown once.
    secrets: dict[str, list[str]] = field(default_factory=dict)
    # Secrets the desk generated in this call: the partner does not know them yet.
    generated: list[str] = field(default_factory=list)


def secret_fields(adapter_class: type[Any]) -> tuple[str, ...]:
    """The settings fields an adapter declares secret (encrypted at rest)."""
    names = getattr(adapter_class, "SECRET_FIELDS", ())
    return tuple(str(n) for n in names)


def mask(value: Any) -> Any:
    """A secret shown as its first characters only, enough to tell two apart."""
    if isinstance(value, list):
        return [mask(v) for v in value]
    if isinstance(value, str):
        plain = value if not crypto.is_encrypted(value) else "chiffré"
        return plain[:10] + "…" if len(plain) > 10 else "…"
    return value


def _decrypted(stored: dict[str, Any], names: tuple[str, ...], secret_key: str) -> dict[str, Any]:
    out = dict(stored)
    try:
        for name in names:
            value = out.get(name)
            if isinstance(value, str):
                out[name] = crypto.decrypt(secret_key, value)
            elif isinstance(value, list):
                out[name] = [
                    crypto.decrypt(secret_key, v) if isinstance(v, str) else v for v in value
                ]
    except ValueError as exc:
        raise ChannelError(MSG_CANNOT_DECRYPT) from exc
    return out


def _encrypted(clean: dict[str, Any], names: tuple[str, ...], secret_key: str) -> dict[str, Any]:
    out = dict(clean)
    for name in names:
        value = out.get(name)
        if isinstance(value, str) and value:
            out[name] = crypto.encrypt(secret_key, value)
        elif isinstance(value, list):
            out[name] = [
                crypto.encrypt(secret_key, v) if isinstance(v, str) and v else v for v in value
            ]
    return out


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list | tuple):
        return [v.strip() for v in value if isinstance(v, str) and v.strip()]
    return []


def _rotating_secrets(
    adapter: str, given: Any, previous: Any, *, rotate: bool
) -> tuple[list[str] | None, list[str]]:
    """The secrets to validate (None: leave the field as given) and those generated now."""
    given_list = _as_list(given)
    previous_list = _as_list(previous)
    if rotate:
        if len(given_list) > 1:
            raise ChannelError(MSG_ROTATE_ONE_SECRET)
        fresh = given_list[0] if given_list else new_secret()
        kept = [s for s in previous_list if s != fresh][-(MAX_ROTATING_SECRETS - 1) :]
        return [*kept, fresh], ([] if given_list else [fresh])
    if given is not None:
        return None, []
    if previous_list:
        return previous_list, []
    if adapter in GENERATING_ADAPTERS:
        fresh = new_secret()
        return [fresh], [fresh]
    return None, []


async def configure_channel(
    *,
    slug: str,
    adapter: str,
    settings: dict[str, Any],
    secret_key: str,
    rotate: bool = False,
    actor: str = "system",
    delivery_id: int | None = None,
    connection: BaseDBAsyncClient | None = None,
    allowed_networks: tuple[Network, ...] = (),
) -> ChannelResult:
    """Validate, complete and store a signatory's adapter and its settings.

    Settings given here override those already stored for the same adapter (so changing a
    URL keeps the secrets); switching to another adapter starts from the given settings only.
    A webhook gets a fresh `whsec_` secret when it has none; `rotate=True` adds a new one and
    keeps the newest previous one, two at most, so the partner can switch without a gap.

    With `delivery_id` (the back office sending one failed delivery by another channel), the
    signatory keeps its own adapter: the new channel's settings are validated on top of the
    stored ones and added to them, since every adapter of a signatory reads the same settings.
    `connection` lets the caller write its own change in the same transaction.

    Every URL among the settings must lead outside the desk's own network, or into one of
    `allowed_networks` (DESK_PARTNER_ALLOWED_NETWORKS): address literals in any spelling, and
    names as they resolve now (they are resolved and checked again at each call).
    """
    if not isinstance(settings, dict):
        raise ChannelError(MSG_SETTINGS_NOT_OBJECT)
    name = (adapter or "").strip()
    names = adapter_names()
    if name not in names:
        raise ChannelError(
            MSG_UNKNOWN_ADAPTER.format(name=name, names=", ".join(names)), code="invalid"
        )
    adapter_class: type[Any] = load_adapter(name)
    found = Signatory.filter(slug=(slug or "").strip())
    if connection is not None:
        found = found.using_db(connection)
    signatory = await found.first()
    if signatory is None:
        raise ChannelError(MSG_UNKNOWN_SIGNATORY.format(slug=slug), code="not_found")
    fields_secret = secret_fields(adapter_class)

    # For one delivery, the signatory's own adapter and its settings stay as they are.
    kept_adapter = signatory.adapter if delivery_id is not None else name
    stored_secrets = fields_secret
    if kept_adapter != name and kept_adapter in names:
        stored_secrets = tuple({*fields_secret, *secret_fields(load_adapter(kept_adapter))})
    current: dict[str, Any] = {}
    if (signatory.adapter == name or delivery_id is not None) and isinstance(
        signatory.adapter_settings, dict
    ):
        current = _decrypted(dict(signatory.adapter_settings), stored_secrets, secret_key)
    wanted = {**current, **settings}

    generated: list[str] = []
    if rotate and ROTATING_FIELD not in fields_secret:
        raise ChannelError(MSG_ROTATE_UNSUPPORTED.format(name=name))
    if ROTATING_FIELD in fields_secret:
        chosen, generated = _rotating_secrets(
            name, settings.get(ROTATING_FIELD), current.get(ROTATING_FIELD), rotate=rotate
        )
        if chosen is not None:
            wanted[ROTATING_FIELD] = chosen

    validate = getattr(adapter_class, "validate_settings", None)
    clean: dict[str, Any] = dict(wanted)
    if callable(validate):
        try:
            if _takes_networks(validate):
                clean = dict(validate(wanted, allowed_networks=allowed_networks))
            else:
                clean = dict(validate(wanted))
        except ValueError as exc:
            raise ChannelError(MSG_INVALID.format(name=name, reason=exc)) from exc
    # Whatever the adapter checked (a town's own adapter may check nothing): every URL.
    for host in _url_hosts(clean):
        if not await config_time_check(host, allowed_networks):
            raise ChannelError(MSG_INVALID.format(name=name, reason=URL_PRIVATE))

    signatory.adapter = kept_adapter
    kept = current if delivery_id is not None else {}
    signatory.adapter_settings = _encrypted({**kept, **clean}, stored_secrets, secret_key)
    # Setting names only: values may be secrets, or addresses.
    detail: dict[str, Any] = {
        "adapter": name,
        "settings": sorted(clean),
        "secret_generated": bool(generated),
    }
    if delivery_id is not None:
        detail["delivery_id"] = delivery_id
    async with _transaction(connection) as conn:
        await signatory.save(update_fields=["adapter", "adapter_settings"], using_db=conn)
        await record_action(
            action="partner.channel_configured",
            actor=actor,
            subject=f"signatory:{signatory.id}",
            detail=detail,
            connection=conn,
        )
    log.info("signatory %s channel set to %s (delivery %s)", signatory.id, name, delivery_id)

    active: dict[str, list[str]] = {}
    for secret_name in fields_secret:
        value = clean.get(secret_name)
        if isinstance(value, str) and value:
            active[secret_name] = [value]
        elif isinstance(value, list):
            active[secret_name] = [v for v in value if isinstance(v, str)]
    shown = {k: (mask(v) if k in fields_secret else v) for k, v in clean.items()}
    return ChannelResult(
        slug=signatory.slug, adapter=name, settings=shown, secrets=active, generated=generated
    )


def _takes_networks(validate: Any) -> bool:
    """Whether an adapter's validate_settings takes the allow-list (ours do; an adapter a town
    wrote before it existed does not, and is still covered by the URL check after it)."""
    try:
        return "allowed_networks" in inspect.signature(validate).parameters
    except (TypeError, ValueError):
        return False


def _url_hosts(settings: dict[str, Any]) -> list[str]:
    """The host of every http(s) URL among settings values (strings, or lists of strings)."""
    hosts = []
    for value in settings.values():
        for item in value if isinstance(value, list) else [value]:
            text = item.strip() if isinstance(item, str) else ""
            if not text.lower().startswith(("http:", "https:")):
                continue
            try:
                host = urlsplit(text).hostname
            except ValueError:
                continue
            if host:
                hosts.append(host)
    return hosts


def _transaction(
    connection: BaseDBAsyncClient | None,
) -> AbstractAsyncContextManager[BaseDBAsyncClient]:
    """The caller's transaction when it has one, else a new one."""
    if connection is not None:
        return nullcontext(connection)
    return in_transaction()


def parse_assignments(pairs: list[str]) -> dict[str, Any]:
    """`key=value` pairs from the command line; a value starting with [ or { is read as JSON."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ChannelError(MSG_BAD_PAIR.format(pair=pair))
        value: Any = raw
        if raw.strip()[:1] in ("[", "{"):
            try:
                value = json.loads(raw)
            except ValueError as exc:
                raise ChannelError(MSG_BAD_JSON.format(key=key)) from exc
        out[key] = value
    return out


# --- from the signatory's own space ----------------------------------------------------------


def space_adapter_choices(current: str) -> list[str]:
    """The channels a signatory may choose in its space (its current one always listed)."""
    return [n for n in adapter_names() if n not in HIDDEN_FROM_SPACE or n == current]


def shown_settings(signatory: Signatory) -> dict[str, Any]:
    """The stored settings of its channel, each secret replaced by None: safe to show."""
    stored = signatory.adapter_settings if isinstance(signatory.adapter_settings, dict) else {}
    try:
        names = secret_fields(load_adapter(signatory.adapter))
    except PermanentAdapterError:  # uninstalled since: show no value rather than fail
        names = tuple(stored)
    return {k: (None if k in names else v) for k, v in sorted(stored.items())}


async def set_accepted_identifiers(
    *, signatory_id: int, identifiers: list[str], actor: str
) -> list[str]:
    """Which identifiers the signatory accepts to find a resident (audited with who did it)."""
    chosen = list(dict.fromkeys(identifiers))
    if not chosen:
        raise ChannelError(MSG_NO_IDENTIFIER)
    if any(kind not in IDENTIFIER_LABELS for kind in chosen):
        raise ChannelError(MSG_UNKNOWN_IDENTIFIER)
    ordered = [kind for kind in IDENTIFIER_LABELS if kind in chosen]
    async with in_transaction() as conn:
        signatory = await Signatory.filter(id=signatory_id).using_db(conn).first()
        if signatory is None:
            raise ChannelError(MSG_UNKNOWN_SIGNATORY.format(slug=signatory_id), code="not_found")
        before = list(signatory.accepted_identifiers or [])
        signatory.accepted_identifiers = ordered
        await signatory.save(update_fields=["accepted_identifiers"], using_db=conn)
        await record_action(
            action="partner.identifiers_configured",
            actor=actor,
            subject=f"signatory:{signatory.id}",
            detail={"before": before, "after": ordered},
            connection=conn,
        )
    return ordered
