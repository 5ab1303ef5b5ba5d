"""Docker cannot run here: check the compose file's shape instead."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services_and_images() -> None:
    services = compose()["services"]
    assert {"api", "worker", "redis", "postgres", "flower"} <= set(services)
    assert services["api"]["build"] == "." and services["worker"]["build"] == "."
    assert services["redis"]["image"].startswith("redis:")
    assert services["postgres"]["image"].startswith("postgres:")
    assert "flower" in services["flower"]["image"]


def test_commands() -> None:
    services = compose()["services"]
    assert (
        "gunicorn" in services["api"]["command"]
        and "service.wsgi:app" in services["api"]["command"]
    )
    assert services["worker"]["command"].startswith("grader worker")
    redis_cmd = services["redis"]["command"]
    assert "--appendonly" in redis_cmd and redis_cmd[redis_cmd.index("--appendonly") + 1] == "yes"
    assert redis_cmd[redis_cmd.index("--maxmemory-policy") + 1] == "noeviction"


def test_environment_points_at_redis_and_postgres() -> None:
    services = compose()["services"]
    for name in ("api", "worker"):
        env = services[name]["environment"]
        assert env["GRADER_BROKER_URL"].startswith("redis://redis:")
        assert env["GRADER_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["GRADER_DATABASE_URL"].endswith("@postgres:5432/grader")
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_dockerfile_pins_cpu_torch_and_runs_unprivileged() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "torch==2.13.0" in text and "whl/cpu" in text
    assert "USER grader" in text
