from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from desk.holdings import hashing
from desk.holdings.hashing import InvalidIdentifier

DOC = Path(__file__).resolve().parents[3] / "docs" / "holdings.md"


def _doc_block(marker: str, language: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(rf"<!-- {marker} -->\s*```{language}\n(.*?)\n```", text, re.S)
    assert match, f"docs/holdings.md has no {language} block after <!-- {marker} -->"
    return match.group(1)


def _vectors() -> list[dict[str, Any]]:
    vectors: list[dict[str, Any]] = json.loads(_doc_block("test-vectors", "json"))
    return vectors


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("camille@exemple.fr", "camille@exemple.fr"),
        ("  Camille.Durand@Exemple.FR \n", "camille.durand@exemple.fr"),
        ("CAMILLE@EXEMPLE.FR", "camille@exemple.fr"),
        ("Élodie@Exemple.fr", "élodie@exemple.fr"),
        # "é" typed as "e" + combining acute accent (NFD) is the same person as "é" (NFC).
        ("e\u0301lodie@exemple.fr", "élodie@exemple.fr"),
        ("anne@bücher.fr", "anne@xn--bcher-kva.fr"),
        ("anne@Crêperie-Bzh.FR", "anne@xn--crperie-bzh-obb.fr"),
        ("anne@xn--bcher-kva.fr", "anne@xn--bcher-kva.fr"),
        ("anne+lettres@mairie.brest.fr", "anne+lettres@mairie.brest.fr"),
    ],
)
def test_email_normalisation(raw: str, normalised: str) -> None:
    assert hashing.normalise_email(raw) == normalised
    assert hashing.normalise_email(normalised) == normalised  # stable when applied twice


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "camille",
        "camille@",
        "@exemple.fr",
        "camille@exemple",
        "cam ille@exemple.fr",
        "camille@@exemple.fr",
        "camille@exemple..fr",
        "camille@-exemple.fr",
        "camille.@exemple.fr",
        "x" * 65 + "@exemple.fr",
    ],
)
def test_what_is_not_an_address_is_refused_in_french(raw: str) -> None:
    with pytest.raises(InvalidIdentifier) as refused:
        hashing.normalise_email(raw)
    assert "Adresse e-mail" in refused.value.message


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("06 12 34 56 78", "+33612345678"),
        ("06.12.34.56.78", "+33612345678"),
        ("06-12-34-56-78", "+33612345678"),
        ("0612345678", "+33612345678"),
        ("(02) 98 00 00 00", "+33298000000"),
        ("06\u00a012\u00a034\u00a056\u00a078", "+33612345678"),  # no-break spaces
        ("0033 6 12 34 56 78", "+33612345678"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("+33 (0)6 12 34 56 78", "+33612345678"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+1 (202) 555-0143", "+12025550143"),
    ],
)
def test_phone_normalisation(raw: str, normalised: str) -> None:
    assert hashing.normalise_phone(raw) == normalised
    assert hashing.normalise_phone(normalised) == normalised


@pytest.mark.parametrize(
    "raw", ["", "0612", "12 34 56 78 90", "+33 6 12", "+33 6 12 34 56 78 9", "abc", "+0612345678"]
)
def test_what_is_not_a_phone_number_is_refused_in_french(raw: str) -> None:
    with pytest.raises(InvalidIdentifier) as refused:
        hashing.normalise_phone(raw)
    assert "Numéro" in refused.value.message


def test_keyed_hash_is_hmac_sha256_of_kind_and_normalised_value() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"cle", b"email:camille@exemple.fr", hashlib.sha256).hexdigest()
    assert hashing.keyed_hash("cle", "email", " Camille@Exemple.FR") == expected
    assert len(expected) == 64
    # Another signatory's key gives another hash: hashes cannot be matched across signatories.
    assert hashing.keyed_hash("autre", "email", "camille@exemple.fr") != expected
    # The kind is part of the message.
    assert hashing.keyed_hash("cle", "phone", "0612345678") != hashing.keyed_hash(
        "cle", "email", "camille@exemple.fr"
    )
    with pytest.raises(InvalidIdentifier):
        hashing.keyed_hash("cle", "fax", "0298000000")


def test_resident_hashes_use_the_email_only() -> None:
    assert hashing.resident_hashes(SimpleNamespace(email="Camille@Exemple.fr"), "cle") == [
        hashing.keyed_hash("cle", "email", "camille@exemple.fr")
    ]
    assert hashing.resident_hashes(SimpleNamespace(email=None), "cle") == []
    assert hashing.resident_hashes(SimpleNamespace(email="pas une adresse"), "cle") == []


def test_the_documented_test_vectors_hold() -> None:
    vectors = _vectors()
    assert {v["kind"] for v in vectors} == {"email", "phone"}
    for vector in vectors:
        normalised = hashing.normalise(vector["kind"], vector["input"])
        assert normalised == vector["normalised"]
        assert hashing.message(vector["kind"], vector["input"]) == vector["message"]
        assert hashing.keyed_hash(vector["key"], vector["kind"], vector["input"]) == vector["hash"]


def test_the_documented_python_snippet_prints_the_vector_hash(tmp_path: Path) -> None:
    script = tmp_path / "partner.py"
    script.write_text(_doc_block("python-snippet", "python"), encoding="utf-8")
    assert len(script.read_text().strip().splitlines()) <= 14
    run = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=30, check=True
    )
    email_vector = next(v for v in _vectors() if v["kind"] == "email")
    assert run.stdout.strip() == email_vector["hash"]


def test_the_documented_openssl_command_matches_the_vector() -> None:
    text = DOC.read_text(encoding="utf-8")
    email_vector = next(v for v in _vectors() if v["kind"] == "email")
    assert f"printf '%s' '{email_vector['message']}'" in text
    assert f"openssl dgst -sha256 -hmac '{email_vector['key']}'" in text
    assert f"# {email_vector['hash']} *stdin" in text
    if shutil.which("openssl") is None:
        return
    run = subprocess.run(
        ["openssl", "dgst", "-sha256", "-hmac", email_vector["key"], "-r"],
        input=email_vector["message"].encode("utf-8"),
        capture_output=True,
        timeout=30,
        check=True,
    )
    assert run.stdout.decode().split()[0] == email_vector["hash"]
