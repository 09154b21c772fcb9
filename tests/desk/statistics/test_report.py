"""The annual report: a page with the year's figures, or a clear page when there is nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from desk.charter.models import Alert, SelfEvaluation
from desk.core import clock
from tests.desk.statistics.test_figures import NOW, generate
from tests.helpers import run_desk


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: NOW)


async def test_report_of_a_year_with_data(client: httpx.AsyncClient, fixed_clock: None) -> None:
    await generate(60)
    signatory_id = (await Alert.first()).signatory_id  # type: ignore[union-attr]
    await SelfEvaluation.create(
        signatory_id=signatory_id, year=2026,
        answers={"register": {"answer": "partly", "comment": "Par une page dédiée."},
                 "dpo": {"answer": "yes", "comment": ""}},
        submitted_at=NOW - timedelta(days=2),
    )  # fmt: skip
    response = await client.get("/bilan/2026")
    assert response.status_code == 200
    html = response.text
    assert "Bilan 2026 de la charte" in html
    assert "ces chiffres sont provisoires" in html  # 2026 is not over on NOW
    assert "Alerte 1 : rappel" in html and "Retards" in html
    assert "Par une page dédiée." in html
    # The questions and answers in words, never the stored keys or a printed dictionary.
    assert "Le registre des traitements de données est-il à jour ?" in html
    assert "En partie" in html and "<dd>Oui</dd>" in html
    assert "{&#39;" not in html and "partly" not in html and "register" not in html
    assert html.count('role="img"') == 2 and "/static/stats.css" in html
    assert "@media print" in (await client.get("/static/stats.css")).text
    assert "Gestion des abonnés 1" in html  # declarations created this year


async def test_report_of_a_year_without_data_says_so(
    client: httpx.AsyncClient, fixed_clock: None
) -> None:
    response = await client.get("/bilan/2019")
    assert response.status_code == 200
    assert "Il n&#39;y a aucune donnée pour 2019" in response.text


@pytest.mark.parametrize("year", ["2027", "3000", "20x6", "999", "02026", "1999"])
async def test_future_or_malformed_year_is_a_french_404(
    client: httpx.AsyncClient, fixed_clock: None, year: str
) -> None:
    response = await client.get(f"/bilan/{year}")
    assert response.status_code == 404
    assert "quatre chiffres" in response.text


async def test_desk_report_command_writes_the_standalone_page(
    app: Starlette, tmp_path: Path
) -> None:
    await generate(20)
    settings = app.state.settings
    output = tmp_path / "bilan.html"
    env = {"DESK_DATABASE_URL": settings.database_url, "DESK_DATA_DIR": str(settings.data_dir),
           "PATH": "/usr/bin:/bin"}  # fmt: skip
    year = str(datetime.now(UTC).year)
    done = await run_desk("report", "--year", year, "--output", str(output), env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    html = output.read_text("utf-8")
    assert html.startswith("<!doctype html>") and f"Bilan {year} de la charte" in html
    assert "/static/desk.css" not in html and ".wrap" in html  # styles inlined
    bad = await run_desk("report", "--year", "demain", env=env)
    assert bad.returncode == 2 and "Année invalide" in bad.stderr
