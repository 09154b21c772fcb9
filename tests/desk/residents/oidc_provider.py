"""A real OpenID provider on a local port, for the FranceConnect tests (oidc-provider-mock).

oidc-provider-mock answers userinfo in plain JSON; FranceConnect v2 signs it. Two switches
(app.config) make the same provider sign its userinfo with its own JWKS key, or tamper with
the ID tokens it issues (bad signature, unsigned, HS256 with the client secret, another key),
so those paths are tested against real HTTP too.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import flask
import oidc_provider_mock
import werkzeug.serving
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

SIGN_USERINFO = "DESK_SIGN_USERINFO"
SPOIL_ID_TOKEN = "DESK_SPOIL_ID_TOKEN"
SPOIL_USERINFO = "DESK_SPOIL_USERINFO"
CLIENT_ID = "guichet-test"
CLIENT_SECRET = "secret-de-test-assez-long-pour-un-hmac-0123456789"


def _provider_key() -> RSAKey:
    storage = flask.g.oidc_provider_mock_storage
    return RSAKey.import_key(storage.jwk.as_dict(is_private=True))


def _signed_userinfo(response: flask.Response) -> flask.Response:
    claims: dict[str, Any] = dict(response.get_json())
    claims.update(iss=flask.request.host_url.rstrip("/"), aud=CLIENT_ID)
    key = _provider_key()
    token = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)
    if flask.current_app.config[SPOIL_USERINFO]:
        token = _spoil(token)
    return flask.Response(token, status=200, content_type="application/jwt")


def _spoil(token: str) -> str:
    header, payload, signature = token.split(".")
    # Another signature's bytes: same length, not the provider's.
    return ".".join([header, payload, signature[::-1]])


def _forged(token: str, how: str) -> str:
    """The provider's ID token, tampered with the way an attacker would."""
    header, payload, _ = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    if how == "none":  # unsigned
        bare = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
        return f"{bare}.{payload}."
    if how == "hs256":  # "signed" with the client secret, which the client knows
        return jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(CLIENT_SECRET))
    if how == "other-key":  # a key of the attacker's, naming the provider's key id
        kid = _provider_key().kid
        return jwt.encode({"alg": "RS256", "kid": kid}, claims, RSAKey.generate_key(2048))
    return _spoil(token)


def _spoilt(response: flask.Response, how: str) -> flask.Response:
    body = dict(response.get_json())
    body["id_token"] = _forged(str(body["id_token"]), how)
    return flask.jsonify(body)


def build_app() -> flask.Flask:
    app: flask.Flask = oidc_provider_mock.app(require_nonce=True)
    app.config[SIGN_USERINFO] = False
    app.config[SPOIL_ID_TOKEN] = False
    app.config[SPOIL_USERINFO] = False

    @app.after_request
    def adjust(response: flask.Response) -> flask.Response:
        if response.status_code != 200 or not response.is_json:
            return response
        if flask.request.path == "/userinfo" and app.config[SIGN_USERINFO]:
            return _signed_userinfo(response)
        if flask.request.path == "/oauth2/token" and app.config[SPOIL_ID_TOKEN]:
            return _spoilt(response, str(app.config[SPOIL_ID_TOKEN]))
        return response

    return app


@dataclass
class Provider:
    url: str
    app: flask.Flask


@contextmanager
def running_provider() -> Iterator[Provider]:
    app = build_app()
    server = werkzeug.serving.make_server("localhost", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield Provider(url=f"http://localhost:{server.server_port}", app=app)
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()
