"""Bearer tokens minted directly (no HTTP round trip), for a real client and its real secret:
the API checks on every call that the secret a token names is still active."""

from __future__ import annotations

from desk.partners import clients, tokens
from desk.partners.models import ClientSecret


async def real_secret(slug: str) -> tuple[str, int]:
    """A new client of the signatory `slug`: its client_id and the id of its active secret."""
    cred = await clients.create_client(slug=slug)
    stored = await ClientSecret.get(client__client_id=cred.client_id, revoked_at=None)
    return cred.client_id, stored.id


async def minted_token(*, secret_key: str, issuer: str, slug: str, signatory_id: int) -> str:
    client_id, secret_id = await real_secret(slug)
    return tokens.issue(
        secret_key=secret_key,
        issuer=issuer,
        client_id=client_id,
        signatory_id=signatory_id,
        secret_id=secret_id,
    )
