"""English available everywhere a person reads: the catalogue is complete and pages switch."""

from __future__ import annotations

import html
import string
from pathlib import Path

import httpx
import pytest

from desk.mail.render import render_email
from desk.registry.seed import seed_demo
from desk.web.templating import build_environment
from tools import i18n_extract

ROOT = Path(__file__).resolve().parents[3]
CATALOGUE = ROOT / "desk" / "web" / "locales" / "en.json"


@pytest.fixture(scope="module")
def extracted() -> list[str]:
    return i18n_extract.extract()


@pytest.fixture(scope="module")
def catalogue() -> dict[str, str]:
    return i18n_extract.load_catalogue(CATALOGUE)


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _text(response: httpx.Response) -> str:
    return html.unescape(response.text)


def test_extractor_finds_template_strings_and_python_labels(extracted: list[str]) -> None:
    assert "Le guichet des données" in extracted  # templates/base.html
    assert "{count} déclarations" in extracted  # a string with a placeholder
    assert "Page introuvable" in extracted  # desk/web/errors.py TITLES_FR, shown by _(title)
    assert "Bailleur social" in extracted  # desk/registry/services.py KIND_LABELS
    assert "Cette demande est introuvable." in extracted  # a RequestError message
    assert "Vous êtes déconnecté. À bientôt !" in extracted  # a flash message
    assert extracted == sorted(set(extracted))
    assert "expired" not in extracted  # LoginLinkError("expired") is a code, not a message


def test_every_string_people_read_has_an_english_translation(
    extracted: list[str], catalogue: dict[str, str]
) -> None:
    missing = [s for s in extracted if not catalogue.get(s, "").strip()]
    assert not missing, (
        f"{len(missing)} French strings have no English entry in desk/web/locales/en.json "
        "(run .venv/bin/python tools/i18n_extract.py --missing):\n" + "\n".join(missing)
    )


def test_translations_keep_the_placeholders_of_their_source(catalogue: dict[str, str]) -> None:
    wrong = {
        source: english
        for source, english in catalogue.items()
        if _fields(source) != _fields(english)
    }
    assert not wrong, "placeholders differ:\n" + "\n".join(
        f"{s!r} → {e!r}" for s, e in wrong.items()
    )


def test_catalogue_is_plain_text_without_html(catalogue: dict[str, str]) -> None:
    with_markup = [e for e in catalogue.values() if "<" in e or ">" in e.replace("→", "")]
    assert not with_markup


async def test_home_in_english_and_the_choice_is_remembered(client: httpx.AsyncClient) -> None:
    response = await client.get("/?lang=en")

    assert response.status_code == 200
    text = _text(response)
    assert '<html lang="en">' in text
    assert "The data desk" in text
    assert "Your personal data, within reach" in text
    assert "Vos données personnelles, à portée de main" not in text
    assert "Accessibility: partially compliant" in text
    assert 'hreflang="fr"' in text  # the way back to French
    assert "lang=en" in response.headers.get("set-cookie", "")
    assert client.cookies.get("lang") == "en"

    again = await client.get("/")

    assert '<html lang="en">' in again.text
    assert "Your personal data, within reach" in _text(again)


async def test_back_to_french(client: httpx.AsyncClient) -> None:
    await client.get("/?lang=en")

    response = await client.get("/?lang=fr")

    assert '<html lang="fr">' in response.text
    assert "Vos données personnelles, à portée de main" in _text(response)
    assert client.cookies.get("lang") == "fr"


async def test_signatories_page_in_english_shows_english_labels(
    client: httpx.AsyncClient,
) -> None:
    await seed_demo()

    response = await client.get("/signataires?lang=en")

    assert response.status_code == 200
    text = _text(response)
    assert '<html lang="en">' in text
    assert "The charter's signatories" in text
    assert "Local authority or public body" in text  # KIND_LABELS through _()
    assert "Public service operator" in text
    assert "Social housing provider" in text
    assert "by email to the data protection officer" in text  # CHANNEL_LABELS
    assert "automatically (demonstration)" in text
    assert "3 declarations" in text
    assert "13 October 2022" in text  # dates follow the language too
    assert "Collectivité ou organisme public" not in text
    assert "par courriel au délégué" not in text


async def test_not_found_page_in_english(client: httpx.AsyncClient) -> None:
    response = await client.get("/nulle-part?lang=en")

    assert response.status_code == 404
    text = _text(response)
    assert '<html lang="en">' in text
    assert "Page not found" in text
    assert "The address you asked for does not exist" in text
    assert "Page introuvable" not in text


async def test_error_detail_raised_in_french_is_shown_in_english(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/signataires/personne-inconnue?lang=en")

    assert response.status_code == 404
    text = _text(response)
    assert "No signatory of the charter matches this address." in text
    assert "Aucun signataire" not in text


def test_email_in_the_residents_language() -> None:
    env = build_environment()
    context = {"link": "http://testserver/connexion/abc", "minutes": 10}

    english = render_email(env, "login_link", context, locale="en")
    french = render_email(env, "login_link", context, locale="fr")

    assert english.subject == "Your sign-in link for the data desk"
    assert "The link works for 10 minutes, once only." in english.text
    assert english.html is not None and '<html lang="en">' in english.html
    assert french.subject == "Votre lien de connexion au guichet des données"
