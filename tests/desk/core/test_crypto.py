from __future__ import annotations

import pytest

from desk.core.crypto import check_secret, decrypt, encrypt, hash_secret, is_encrypted


def test_secrets_at_rest_round_trip_and_need_the_key() -> None:
    stored = encrypt("key-one", "webhook-secret")
    assert is_encrypted(stored) and "webhook-secret" not in stored
    assert decrypt("key-one", stored) == "webhook-secret"
    with pytest.raises(ValueError):
        decrypt("key-two", stored)


def test_client_secrets_are_hashed_with_a_salt() -> None:
    a, b = hash_secret("s3cret"), hash_secret("s3cret")
    assert a != b and "s3cret" not in a
    assert check_secret("s3cret", a) and check_secret("s3cret", b)
    assert not check_secret("other", a)
    assert not check_secret("s3cret", "garbage")
