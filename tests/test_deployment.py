"""The Dockerfile and compose.yaml cannot be built here (no container engine): check that they
parse, hold together, and only run `desk` commands that exist with options they accept."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from desk.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent


def _parses(command: list[str]) -> None:
    assert command[0] == "desk", command
    try:
        build_parser().parse_args(command[1:])
    except SystemExit as exc:  # argparse's way of refusing
        pytest.fail(f"`{' '.join(command)}` is not a valid desk command (exit {exc.code})")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def _dockerfile() -> list[str]:
    """Instructions, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    text = re.sub(r"\\\n\s*", " ", text)
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def test_compose_runs_the_whole_desk(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["postgres"]["image"].startswith("postgres:16")
    assert "healthcheck" in services["postgres"]
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"])
    assert services["migrate"]["command"] == ["desk", "migrate"]
    webs = [s for s in services.values() if s.get("command", [None, None])[1:2] == ["serve"]]
    assert len(webs) == 2
    workers = [s for s in services.values() if s.get("command", [None, None])[1:2] == ["worker"]]
    total_workers = sum(s.get("deploy", {}).get("replicas", 1) for s in workers)
    assert total_workers == 2
    assert any("mailpit" in str(s.get("image", "")) for s in services.values())


def test_every_desk_service_runs_a_real_command(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if service.get("image") == "desk:local":
            _parses(service["command"])
            env = service["environment"]
            assert env["DESK_DATABASE_URL"].startswith("postgres://"), name
            assert "DESK_SECRET_KEY" not in env, "the secret comes from the env file"
            assert service["env_file"] == ".env"
            assert "desk-data:/var/lib/desk" in service["volumes"], name


def test_web_and_workers_wait_for_a_healthy_migrated_database(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        command = service.get("command", [])
        if command[1:2] in (["serve"], ["worker"]):
            needs = service["depends_on"]
            assert needs["postgres"]["condition"] == "service_healthy", name
            assert needs["migrate"]["condition"] == "service_completed_successfully", name
            assert set(needs) <= set(compose["services"]), name


def test_dockerfile_builds_a_wheel_and_runs_it_unprivileged() -> None:
    lines = _dockerfile()
    stages = [line for line in lines if line.startswith("FROM ")]
    assert len(stages) == 2 and all("python:3.11-slim" in s for s in stages)
    assert any("pip wheel" in line for line in lines)
    assert any("pip install" in line and "--no-index" in line for line in lines)
    user = next(line.split()[1] for line in lines if line.startswith("USER "))
    assert user not in ("root", "0")
    assert any(line.startswith("VOLUME ") for line in lines)
    healthcheck = next(line for line in lines if line.startswith("HEALTHCHECK "))
    assert "/healthz" in healthcheck and "curl" not in healthcheck
    cmd = next(line for line in lines if line.startswith("CMD "))
    _parses(json.loads(cmd.removeprefix("CMD ")))


def test_dockerfile_ships_templates_where_the_app_reads_them() -> None:
    lines = _dockerfile()
    env = " ".join(line for line in lines if line.startswith("ENV "))
    assets = re.search(r"DESK_ASSETS_DIR=(\S+)", env)
    assert assets
    copies = {line.split()[-1] for line in lines if line.startswith("COPY ")}
    assert f"{assets[1]}/templates" in copies and f"{assets[1]}/static" in copies
    # And what is copied exists in the build context.
    for line in lines:
        if line.startswith("COPY ") and "--from" not in line:
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source
