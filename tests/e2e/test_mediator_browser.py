"""A mediator in a real browser (Debian's Chromium, JavaScript off), against `desk demo`:
log in, open a session for a resident without email, record identity check and mandate, file an
erasure at two simulated signatories, print the acknowledgement, see the to-do, print a receipt;
and join a resident's existing account only with the code mailed to her."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import start_demo

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")

EMAIL = "maelle.mediatrice@guichet.exemple.invalid"
# A mediator's help point is a published entry of the directory (`desk demo` seeds this one).
HELP_POINT = "Point d'aide numérique de Bellevue (démo)"


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[str]:
    process, base = start_demo(tmp_path, DESK_SIMULATED_DELAY="0.3")
    yield base
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=30)


def _add_mediator(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env.update(DESK_DATABASE_URL="sqlite://desk-demo.sqlite3", DESK_DATA_DIR=str(tmp_path / "data"))
    done = subprocess.run(
        [
            sys.executable, "-m", "desk.cli", "staff", "add", EMAIL, "--role", "mediator",
            "--name", "Maëlle Médiatrice", "--help-point", HELP_POINT,
        ],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def _mailed_link(demo: str) -> str:
    for _ in range(100):
        mails = httpx.get(demo + "/dev/mailbox.json", params={"to": EMAIL}).json()
        links = [u for m in mails for u in m["links"] if "/equipe/connexion/" in u]
        if links:
            return str(links[-1])
        time.sleep(0.2)
    raise AssertionError("the staff login link never arrived in the demo mailbox")


def _reload_until(page: object, text: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while text not in page.content():  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, f"never saw {text!r}"
        time.sleep(0.5)
        page.reload()  # type: ignore[attr-defined]


def test_mediator_files_an_erasure_with_a_resident_without_email(demo: str, tmp_path: Path) -> None:
    _add_mediator(tmp_path)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(java_script_enabled=False, locale="fr-FR")
        page.goto(demo + "/mediation")
        assert page.url.endswith("/equipe/connexion")
        page.get_by_label("Votre adresse électronique professionnelle").fill(EMAIL)
        page.get_by_role("button", name="Recevoir mon lien de connexion").click()
        page.goto(_mailed_link(demo))
        page.get_by_role("button", name="Me connecter à l'espace équipe").click()
        assert page.url.endswith("/mediation")

        page.get_by_role("link", name="Ouvrir une séance avec une personne").first.click()
        page.get_by_label("Nom et prénom").fill("Yvonne Le Gall")
        page.get_by_label("Numéro et rue").fill("3 rue de Kerbonne")
        page.get_by_label("Code postal").fill("29200")
        page.get_by_label("Commune").fill("Brest")
        page.get_by_label("pièce d'identité montrée (rien n'est copié ni noté)").check()
        page.get_by_label("Supprimer mes données").check()
        page.get_by_role("button", name="Ouvrir la séance et enregistrer le mandat").click()
        assert "La séance est ouverte et le mandat est enregistré." in page.content()

        page.get_by_role("link", name="Imprimer le mandat à faire signer").click()
        assert "Signature de la personne" in page.content()
        page.emulate_media(media="print")
        page.screenshot(path=str(tmp_path / "mandate-print.png"), full_page=True)
        page.emulate_media(media="screen")
        page.go_back()
        page.get_by_role("button", name="La personne a signé le mandat papier").click()
        page.get_by_label("Supprimer mes données").check()
        page.get_by_label("Eau du Ponant").check()
        page.get_by_label("Bibus").check()
        page.get_by_role("button", name="Déposer la demande pour la personne").click()

        assert "/accuse" in page.url
        content = page.content()
        assert "Accusé de réception de votre demande" in content
        assert "Eau du Ponant" in content and "Bibus" in content
        page.emulate_media(media="print")
        page.screenshot(path=str(tmp_path / "acknowledgement-print.png"), full_page=True)
        assert not page.get_by_role("link", name="← Retour à la fiche de la personne").is_visible()
        assert not page.get_by_text("La demande est déposée.").is_visible()
        page.emulate_media(media="screen")

        page.goto(demo + "/mediation")
        _reload_until(page, "À dire à la personne")
        _reload_until(page, "Imprimer le reçu signé")
        page.screenshot(path=str(tmp_path / "todo.png"), full_page=True)
        page.get_by_role("link", name="Imprimer le reçu signé").first.click()
        assert "/recus/" in page.url
        assert page.locator("svg").count() >= 1
        page.emulate_media(media="print")
        page.screenshot(path=str(tmp_path / "receipt-print.png"), full_page=True)
        page.emulate_media(media="screen")
        page.go_back()
        page.get_by_role("button", name="C'est dit à la personne").first.click()
        assert "C'est noté : la personne est au courant." in page.content()
        browser.close()


RESIDENT = "camille.demo@exemple.invalid"


def _mailed(demo: str, to: str, needle: str) -> dict[str, object]:
    for _ in range(100):
        mails = httpx.get(demo + "/dev/mailbox.json", params={"to": to}).json()
        found = [m for m in mails if needle in m["subject"]]
        if found:
            return dict(found[-1])
        time.sleep(0.2)
    raise AssertionError(f"no mail {needle!r} arrived in the demo mailbox")


def test_a_mediator_joins_an_existing_account_only_with_the_code_the_resident_reads_out(
    demo: str, tmp_path: Path
) -> None:
    _add_mediator(tmp_path)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        # The resident opens her account online first.
        resident = browser.new_context(java_script_enabled=False, locale="fr-FR").new_page()
        resident.goto(demo + "/connexion")
        resident.get_by_label("Votre adresse électronique").fill(RESIDENT)
        resident.get_by_role("button", name="Recevoir mon lien de connexion").click()
        link = _mailed(demo, RESIDENT, "connexion")["links"]
        assert isinstance(link, list)
        resident.goto(next(u for u in link if "/connexion/" in u))
        resident.locator("main form button[type=submit]").click()
        assert resident.url.rstrip("/").endswith("/mon-espace")

        page = browser.new_page(java_script_enabled=False, locale="fr-FR")
        page.goto(demo + "/mediation")
        page.get_by_label("Votre adresse électronique professionnelle").fill(EMAIL)
        page.get_by_role("button", name="Recevoir mon lien de connexion").click()
        page.goto(_mailed_link(demo))
        page.get_by_role("button", name="Me connecter à l'espace équipe").click()
        page.goto(demo + "/mediation/seance")
        page.get_by_label("Elle a une adresse électronique", exact=False).check()
        page.get_by_label("Adresse électronique", exact=True).fill(RESIDENT)
        page.get_by_label("pièce d'identité montrée (rien n'est copié ni noté)").check()
        page.get_by_label("Supprimer mes données").check()
        page.get_by_role("button", name="Ouvrir la séance et enregistrer le mandat").click()
        assert page.url.endswith("/consentement")
        assert "Un code a été envoyé à la personne" in page.content()

        # She sees the request in her space too, and reads the mailed code out.
        resident.goto(demo + "/mon-espace?actualiser=non")
        assert "Un médiateur demande à vous accompagner" in resident.content()
        mail = _mailed(demo, RESIDENT, "Votre code pour être accompagné")
        code = str(mail["subject"]).rsplit(":", 1)[1].strip()
        page.get_by_label("Code lu par la personne (6 chiffres)").fill("000 000")
        page.get_by_role("button", name="Valider le code").click()
        if "La personne a donné son accord" not in page.content():  # 000 000 was not the code
            assert "Ce code n'est pas le bon" in page.content()
            page.get_by_label("Code lu par la personne (6 chiffres)").fill(code)
            page.get_by_role("button", name="Valider le code").click()
        assert "La personne a donné son accord" in page.content()
        assert "Séance et mandat" in page.content()
        _mailed(demo, RESIDENT, "Vous avez donné un mandat")
        browser.close()
