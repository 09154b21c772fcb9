"""A mediator's help point is the name of a published directory entry: the check and the
`desk staff` command refuse any other, in French, and say how to add the missing place."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from desk.core.errors import DeskError, status_of
from desk.helppoints.assignment import checked_name
from desk.staff.services import add_staff
from tests.desk.helppoints.support import directory_entry


async def test_only_a_published_entry_of_the_directory_is_accepted(app: object) -> None:
    await directory_entry("Maison de quartier de Kérinou")
    await directory_entry("Ancien point fermé", published=False)
    for wrong in ("Kérinou", "maison de quartier de kérinou", "Ancien point fermé", "x" * 5000):
        with pytest.raises(DeskError) as refused:
            await checked_name(wrong)
        assert status_of(refused.value) == 422
        assert "n'est pas dans l'annuaire" in refused.value.message

    # Spaces as people type them are forgiven; the stored name is the entry's, exactly.
    name = await checked_name("  Maison de quartier   de Kérinou ")
    assert name == "Maison de quartier de Kérinou"
    member = await add_staff(
        email="m@exemple.invalid", display_name="M", role="mediator", help_point=name
    )
    assert member.help_point == "Maison de quartier de Kérinou"
    # No help point at all stays possible (back office, committee, a mediator not yet placed).
    assert await checked_name("  ") == ""
    none = await add_staff(email="bo@exemple.invalid", display_name="B", role="back_office")
    assert none.help_point == ""


def _desk(*args: str, database: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DESK_DATABASE_URL": f"sqlite://{database}"}
    return subprocess.run(
        [sys.executable, "-m", "desk.cli", *args],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip


def test_the_command_refuses_an_unknown_name_and_says_how_to_add_one(tmp_path: Path) -> None:
    database = tmp_path / "desk.sqlite3"
    assert _desk("migrate", database=database).returncode == 0
    with sqlite3.connect(database) as db:
        db.execute(
            "INSERT INTO help_point (slug, name, street, postcode, city, opening_hours, phone, "
            "accessibility, languages, published, created_at, updated_at) VALUES ('kerinou', "
            "'Maison de quartier de Kérinou', '1 rue', '29200', 'BREST', 'lundi', '', '', '[]', "
            "1, '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')"
        )
    refused = _desk(
        "staff", "add", "m@exemple.invalid", "--role", "mediator", "--help-point", "Kérinou",
        database=database,
    )  # fmt: skip
    assert refused.returncode == 1
    assert "Ce point d'aide n'est pas dans l'annuaire" in refused.stderr
    assert "  - Maison de quartier de Kérinou" in refused.stderr
    assert "/back-office/points-d-aide/nouveau" in refused.stderr
    assert "Traceback" not in refused.stderr
    accepted = _desk(
        "staff", "add", "m@exemple.invalid", "--role", "mediator",
        "--help-point", "Maison de quartier de Kérinou", database=database,
    )  # fmt: skip
    assert accepted.returncode == 0, accepted.stderr
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT help_point FROM staff_member").fetchall()
    assert rows == [("Maison de quartier de Kérinou",)]
