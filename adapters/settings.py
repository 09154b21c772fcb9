"""Checks for adapter settings typed in by the back office: URLs, secrets, tokens, durations.

Every check raises SettingsError, a ValueError whose message is French and plain (the back
office shows it next to the field). `template` and `params` let a page translate it:
`_(exc.template).format(**exc.params)`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from adapters.network import Network, host_permitted, literal_address
from desk.adapters_sdk import N_, is_valid_secret

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

URL_REQUIRED = N_(
    "Indiquez l'adresse web (URL) du partenaire, par exemple https://exemple.fr/webhooks."
)
URL_SCHEME = N_(
    "L'adresse doit commencer par https:// (connexion chiffrée) ; "
    "http:// n'est accepté que vers cette machine (localhost), pour les essais."
)
URL_HOST = N_("L'adresse ne contient pas de nom de serveur (la partie après https://).")
URL_PLAIN_HTTP = N_(
    "Une adresse en http:// n'est pas chiffrée : utilisez https://. "
    "Seules les adresses de cette machine (localhost, 127.0.0.1) sont acceptées en http://, "
    "pour les essais."
)
URL_PRIVATE = (
    "Cette adresse mène à un réseau privé ou interne (par exemple 10.x.x.x, 192.168.x.x, "
    "169.254.169.254 ou cette machine, 127.0.0.1) : le guichet n'envoie rien vers ces adresses, "
    "sauf vers les réseaux que l'exploitant autorise (DESK_PARTNER_ALLOWED_NETWORKS). Donnez "
    "l'adresse publique du partenaire."
)
URL_CREDENTIALS = N_(
    "L'adresse ne doit pas contenir d'identifiant ni de mot de passe : "
    "ils se rangent dans les champs prévus."
)
URL_FRAGMENT = N_("L'adresse ne doit pas contenir de partie après « # ».")
SECRET_REQUIRED = N_(
    "Indiquez au moins un secret de signature (il commence par whsec_) : "
    "il permet au partenaire de vérifier que les messages viennent bien du guichet."
)
SECRET_INVALID = N_(
    "Le secret de signature n° {position} n'a pas la bonne forme : "
    "whsec_ suivi d'au moins 16 octets encodés en base64."
)
SECRET_TOO_MANY = N_(
    "Deux secrets au plus : l'ancien et le nouveau, le temps que le partenaire change de secret."
)
TOKEN_REQUIRED = N_(
    "Indiquez le jeton d'accès (token) que le partenaire vous a remis pour appeler son API."
)
TOKEN_INVALID = N_("Le jeton d'accès ne doit contenir ni espace ni retour à la ligne.")
NUMBER_INVALID = N_("Le champ « {field} » doit être un nombre de secondes.")
NUMBER_RANGE = N_("Le champ « {field} » doit être compris entre {minimum} et {maximum} secondes.")


class SettingsError(ValueError):
    """A setting the back office must correct; the message is French."""

    def __init__(self, template: str, **params: Any) -> None:
        super().__init__(template.format(**params) if params else template)
        self.template = template
        self.params = params


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_HOSTS:
        return True
    address = literal_address(host)
    return address is not None and address.is_loopback


def is_internal_address(host: str, allowed: Iterable[Network] = ()) -> bool:
    """An address literal (any spelling) or a name of this machine that the desk may not reach:
    loopback, private, link-local (cloud metadata), shared, multicast, reserved or unspecified,
    unless in `allowed` (DESK_PARTNER_ALLOWED_NETWORKS). Names are checked when resolved."""
    return not host_permitted(host, allowed)


def check_url(value: Any, *, allowed: Iterable[Network] = ()) -> str:
    """An https URL, or plain http to this machine only (tests and the demo); never towards an
    internal address unless its network is in `allowed`."""
    if not isinstance(value, str) or not value.strip():
        raise SettingsError(URL_REQUIRED)
    text = value.strip()
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        _ = parts.port  # raises ValueError on a port that is not a number
    except ValueError:
        raise SettingsError(URL_HOST) from None
    if parts.scheme not in ("http", "https"):
        raise SettingsError(URL_SCHEME)
    if not host:
        raise SettingsError(URL_HOST)
    if parts.username or parts.password:
        raise SettingsError(URL_CREDENTIALS)
    if parts.fragment:
        raise SettingsError(URL_FRAGMENT)
    if parts.scheme == "http" and not is_loopback(host):
        raise SettingsError(URL_PLAIN_HTTP)
    if is_internal_address(host, allowed):
        raise SettingsError(URL_PRIVATE)
    return urlunsplit(parts)


def check_secrets(value: Any) -> list[str]:
    """One or two `whsec_...` secrets (two while the partner rotates)."""
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list | tuple):
        raise SettingsError(SECRET_REQUIRED)
    cleaned = [s.strip() for s in value if isinstance(s, str) and s.strip()]
    if not cleaned:
        raise SettingsError(SECRET_REQUIRED)
    if len(cleaned) > 2:
        raise SettingsError(SECRET_TOO_MANY)
    for position, secret in enumerate(cleaned, start=1):
        if not is_valid_secret(secret):
            raise SettingsError(SECRET_INVALID, position=position)
    return cleaned


def check_token(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SettingsError(TOKEN_REQUIRED)
    token = value.strip()
    if any(c.isspace() for c in token):
        raise SettingsError(TOKEN_INVALID)
    return token


def check_seconds(
    value: Any, *, field: str, default: float, minimum: float, maximum: float
) -> float:
    """A duration in seconds within bounds; `default` when absent."""
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SettingsError(NUMBER_INVALID, field=field) from None
    if isinstance(value, bool) or not math.isfinite(number):
        raise SettingsError(NUMBER_INVALID, field=field)
    if not minimum <= number <= maximum:
        raise SettingsError(
            NUMBER_RANGE, field=field, minimum=_plain(minimum), maximum=_plain(maximum)
        )
    return number


def _plain(number: float) -> str:
    return str(int(number)) if number == int(number) else str(number).replace(".", ",")
