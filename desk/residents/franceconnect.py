"""FranceConnect for residents: OpenID Connect, authorization code flow.

authlib's Starlette client does the plumbing (discovery document, `state` and `nonce` kept in
the session, token exchange, end-session URL); the checks that decide who logs in are done
here with joserfc:

- the ID token's signature against the provider's JWKS (ES256 or RS256 only; the keys are
  fetched again once when a token names a key we do not know: the provider rotated them);
- `iss` (the configured issuer, which the discovery document must also name), `aud` (our
  client id; `azp` too when several audiences), `exp` and `iat` (one minute of leeway),
  `nonce` (the one this browser's session sent), `acr` (at least the level asked for);
- userinfo: a signed JWT (FranceConnect v2) is verified the same way, then its `sub` must be
  the ID token's.

Scopes are `openid email` and nothing more: the desk needs no names (minimal data).
Every failure is a FranceConnectError with a French message: the caller answers 400 and logs
nobody in.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.errors import AuthlibBaseError

from desk.core.translatable import N_

with warnings.catch_warnings():
    # authlib 1.6+ announces a move of its httpx integration to "httpx2"; the Starlette client
    # still uses it, and the notice would greet every `desk demo` and `desk serve` start.
    # (authlib.deprecate sets its own "always" filter when imported: import it first.)
    import authlib.deprecate  # noqa: F401

    warnings.filterwarnings("ignore", message=r".*httpx module is deprecated.*")
    from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from joserfc import jwt
from joserfc.errors import ClaimError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from starlette.requests import Request
from starlette.responses import RedirectResponse

from desk.core.errors import DeskError
from desk.settings import Settings

log = logging.getLogger("desk.residents.franceconnect")

PROVIDER = "franceconnect"
SCOPES = "openid email"
ALGORITHMS = ["ES256", "RS256"]
# eIDAS levels, weakest first: a stronger level than the one asked for is accepted.
ACR_LEVELS = ["eidas1", "eidas2", "eidas3"]
LEEWAY_SECONDS = 60
CALLBACK_PATH = "/franceconnect/retour"
LOGOUT_RETURN_PATH = "/franceconnect/deconnexion"
ID_TOKEN_KEY = "franceconnect_id_token"


class FranceConnectError(DeskError):
    """A FranceConnect login that did not go through; `reason` says why, in French."""

    MESSAGES = {
        "denied": N_(
            "Vous avez annulé la connexion avec FranceConnect, ou refusé de partager "
            "votre adresse électronique. Vous n'êtes pas connecté. Vous pouvez réessayer, ou "
            "recevoir un lien de connexion par courriel."
        ),
        "state": N_(
            "Cette réponse de FranceConnect ne correspond à aucune connexion commencée "
            "dans ce navigateur (elle est peut-être trop ancienne, ou a déjà servi). Vous n'êtes "
            "pas connecté : recommencez depuis la page de connexion."
        ),
        "signature": N_(
            "La réponse de FranceConnect n'a pas pu être vérifiée (signature "
            "invalide). Par sécurité, vous n'êtes pas connecté. Réessayez dans quelques minutes."
        ),
        "claims": N_(
            "La réponse de FranceConnect n'est pas valable pour le guichet (émetteur, "
            "destinataire ou date de validité incorrects). Par sécurité, vous n'êtes pas connecté."
        ),
        "nonce": N_(
            "La réponse de FranceConnect ne correspond pas à la connexion commencée dans "
            "ce navigateur. Par sécurité, vous n'êtes pas connecté : recommencez."
        ),
        "acr": N_(
            "Le niveau de sécurité de votre identification FranceConnect est insuffisant "
            "pour le guichet. Vous n'êtes pas connecté."
        ),
        "email": N_(
            "FranceConnect ne nous a pas transmis d'adresse électronique vérifiée : le "
            "guichet en a besoin pour vous écrire au sujet de vos demandes. Connectez-vous plutôt "
            "avec un lien reçu par courriel."
        ),
        "provider": N_(
            "FranceConnect n'a pas pu terminer votre connexion (service indisponible "
            "ou réponse incomplète). Vous n'êtes pas connecté. Réessayez dans quelques minutes, "
            "ou recevez un lien de connexion par courriel."
        ),
        "logout": N_(
            "Ce retour de FranceConnect après la déconnexion ne correspond à aucune "
            "déconnexion demandée dans ce navigateur. Vous êtes bien déconnecté du guichet."
        ),
        "disabled": N_(
            "La connexion avec FranceConnect n'est pas proposée par ce guichet. "
            "Recevez un lien de connexion par courriel."
        ),
    }

    def __init__(self, reason: str) -> None:
        super().__init__(self.MESSAGES[reason], code="invalid")
        self.reason = reason


@dataclass(frozen=True)
class FranceConnectIdentity:
    subject: str
    email: str | None
    # False only when the provider says so; FranceConnect vouches for the address it sends.
    email_verified: bool
    acr: str
    id_token: str


def client_for(request: Request) -> StarletteOAuth2App:
    """The app's FranceConnect client, made once (it caches the discovery document and keys)."""
    settings: Settings = request.app.state.settings
    if not settings.franceconnect_enabled:
        raise FranceConnectError("disabled")
    client = getattr(request.app.state, "franceconnect_client", None)
    if client is None:
        oauth = OAuth()
        client = oauth.register(
            name=PROVIDER,
            client_id=settings.franceconnect_client_id,
            client_secret=settings.franceconnect_client_secret,
            server_metadata_url=settings.franceconnect_issuer.rstrip("/")
            + "/.well-known/openid-configuration",
            client_kwargs={
                "scope": SCOPES,
                "token_endpoint_auth_method": "client_secret_post",
                "timeout": 10.0,
            },
        )
        request.app.state.franceconnect_client = client
    assert isinstance(client, StarletteOAuth2App)
    return client


async def _metadata(client: StarletteOAuth2App, settings: Settings) -> dict[str, Any]:
    try:
        metadata: dict[str, Any] = await client.load_server_metadata()
    except (httpx.HTTPError, ValueError) as exc:
        raise FranceConnectError("provider") from exc
    # OpenID Connect Discovery 1.0 §4.3: the document must name the issuer we configured.
    if str(metadata.get("issuer", "")).rstrip("/") != settings.franceconnect_issuer.rstrip("/"):
        log.warning("franceconnect discovery document names another issuer")
        raise FranceConnectError("claims")
    return metadata


async def start(request: Request) -> RedirectResponse:
    """Redirect to FranceConnect; `state` and `nonce` go into this browser's session."""
    settings: Settings = request.app.state.settings
    client = client_for(request)
    await _metadata(client, settings)
    try:
        response: RedirectResponse = await client.authorize_redirect(
            request,
            settings.url(CALLBACK_PATH),
            acr_values=settings.franceconnect_acr,
            prompt="login consent",
        )
    except (httpx.HTTPError, AuthlibBaseError, RuntimeError) as exc:
        raise FranceConnectError("provider") from exc
    return response


async def _keys(client: StarletteOAuth2App, *, force: bool = False) -> KeySet:
    try:
        return KeySet.import_key_set(await client.fetch_jwk_set(force=force))
    except (httpx.HTTPError, ValueError, JoseError, RuntimeError) as exc:
        raise FranceConnectError("provider") from exc


async def verify_jwt(client: StarletteOAuth2App, value: str) -> dict[str, Any]:
    """The claims of a JWT signed by the provider (ES256 or RS256), or FranceConnectError."""
    for force in (False, True):
        keys = await _keys(client, force=force)
        try:
            token = jwt.decode(value, keys, algorithms=ALGORITHMS)
        except InvalidKeyIdError:
            continue  # a key we have not seen: fetch the JWKS again, once
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            # Malformed, unsigned ("alg": "none"), HS256 with a guessed secret, wrong key...
            raise FranceConnectError("signature") from exc
        return dict(token.claims)
    raise FranceConnectError("signature")


def check_id_token_claims(
    claims: dict[str, Any], *, issuer: str, client_id: str, nonce: str, acr: str
) -> None:
    """iss, aud (azp), exp, iat, sub, nonce and acr of a verified ID token."""
    registry = jwt.JWTClaimsRegistry(
        leeway=LEEWAY_SECONDS,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        exp={"essential": True},
        iat={"essential": True},
        sub={"essential": True},
    )
    try:
        registry.validate(claims)
    except (ClaimError, ValueError, TypeError) as exc:
        raise FranceConnectError("claims") from exc
    audience = claims.get("aud")
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client_id:
        raise FranceConnectError("claims")
    if claims.get("nonce") != nonce:
        raise FranceConnectError("nonce")
    if not acr_sufficient(claims.get("acr"), acr):
        raise FranceConnectError("acr")


def acr_sufficient(received: object, wanted: str) -> bool:
    if not isinstance(received, str) or received not in ACR_LEVELS:
        return received == wanted and wanted not in ACR_LEVELS
    if wanted not in ACR_LEVELS:
        return False
    return ACR_LEVELS.index(received) >= ACR_LEVELS.index(wanted)


async def _userinfo(
    client: StarletteOAuth2App, token: dict[str, Any], *, issuer: str, client_id: str
) -> dict[str, Any]:
    metadata = await client.load_server_metadata()
    try:
        response = await client.get(metadata["userinfo_endpoint"], token=token)
        response.raise_for_status()
    except (httpx.HTTPError, AuthlibBaseError, KeyError) as exc:
        raise FranceConnectError("provider") from exc
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/jwt":
        # FranceConnect v2 signs userinfo: believe it only once its signature is checked.
        claims = await verify_jwt(client, response.text.strip())
        if "iss" in claims and claims["iss"] != issuer:
            raise FranceConnectError("claims")
        audience = claims.get("aud")
        if audience is not None and client_id not in (
            audience if isinstance(audience, list) else [audience]
        ):
            raise FranceConnectError("claims")
        return claims
    try:
        data = response.json()
    except ValueError as exc:
        raise FranceConnectError("provider") from exc
    if not isinstance(data, dict):
        raise FranceConnectError("provider")
    return data


async def finish(request: Request) -> FranceConnectIdentity:
    """The identity FranceConnect vouches for, once every check passed."""
    settings: Settings = request.app.state.settings
    client = client_for(request)
    params = request.query_params
    error = params.get("error")
    state = params.get("state") or ""
    stored = await client.framework.get_state_data(request.session, state) if state else None
    if stored is not None:
        # A state serves once, whatever happens next.
        await client.framework.clear_state_data(request.session, state)
    if error:
        log.info("franceconnect answered error %s", error[:40])
        raise FranceConnectError("denied" if error == "access_denied" else "provider")
    if not isinstance(stored, dict) or not stored.get("nonce"):
        raise FranceConnectError("state")
    code = params.get("code")
    if not code:
        raise FranceConnectError("provider")
    metadata = await _metadata(client, settings)
    issuer = str(metadata["issuer"])
    try:
        token = await client.fetch_access_token(code=code, redirect_uri=stored.get("redirect_uri"))
    except (httpx.HTTPError, AuthlibBaseError, ValueError) as exc:
        raise FranceConnectError("provider") from exc
    id_token = token.get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise FranceConnectError("provider")
    claims = await verify_jwt(client, id_token)
    check_id_token_claims(
        claims,
        issuer=issuer,
        client_id=settings.franceconnect_client_id,
        nonce=str(stored["nonce"]),
        acr=settings.franceconnect_acr,
    )
    info = await _userinfo(
        client, dict(token), issuer=issuer, client_id=settings.franceconnect_client_id
    )
    if info.get("sub") != claims["sub"]:
        raise FranceConnectError("claims")
    email = info.get("email")
    return FranceConnectIdentity(
        subject=str(claims["sub"]),
        email=email if isinstance(email, str) else None,
        email_verified=info.get("email_verified") is not False,
        acr=str(claims["acr"]),
        id_token=id_token,
    )


async def logout_redirect(request: Request, id_token: str) -> RedirectResponse | None:
    """Send the browser to the provider's end_session_endpoint (id_token_hint, state,
    post_logout_redirect_uri); None when the provider cannot be reached: the desk's own
    session is ended anyway."""
    settings: Settings = request.app.state.settings
    try:
        client = client_for(request)
        response: RedirectResponse = await client.logout_redirect(
            request,
            post_logout_redirect_uri=settings.url(LOGOUT_RETURN_PATH),
            id_token_hint=id_token,
        )
    except (FranceConnectError, httpx.HTTPError, AuthlibBaseError, RuntimeError, ValueError):
        log.warning("franceconnect logout redirect unavailable")
        return None
    return response


async def logout_returned(request: Request) -> bool:
    """Whether the provider came back with the state we sent at logout."""
    try:
        client = client_for(request)
        await client.validate_logout_response(request)
    except (FranceConnectError, AuthlibBaseError):
        return False
    return True
