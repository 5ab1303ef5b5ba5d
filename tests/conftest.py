"""Fixtures shared by every layer: settings -> runtime -> app -> client -> tokens."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # the fixtures import the app lazily, after the environment above is set
    from flask import Flask
    from flask.testing import FlaskClient

    from grader.config import Settings
    from grader.services.runtime import Runtime

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

DEMO_RUBRIC = """\
id: demo
title: Demo exam
questions:
  - id: q1
    prompt: Which activation function has no trainable parameters?
    points: 2
    criteria:
      - id: names-relu
        points: 2
        check:
          kind: keywords
          groups: [{any_of: [relu, rectified linear unit]}]
        feedback: {met: "Right: ReLU.", missed: "Think about ReLU."}
  - id: q2
    prompt: Which network has more parameters, A or B?
    points: 3
    criteria:
      - id: picks-a
        points: 2
        check:
          kind: choice
          options:
            - {id: A, phrases: [network a, first network, "a has more"]}
            - {id: B, phrases: [network b, second network, "b has more"]}
          correct: A
      - id: says-bias
        points: 1
        check: {kind: regex, pattern: "bias(es)?"}
"""


def model_installed() -> bool:
    """The packaged sentence-transformers model is on disk (tests that need it skip without)."""
    try:
        from grader.embed.encoder import default_model_path

        return default_model_path().is_dir()
    except ImportError:
        return False


@pytest.fixture
def demo_rubric() -> str:
    return DEMO_RUBRIC


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    from grader.config import Settings

    return Settings(data_dir=str(tmp_path / "data"), text_checks=False).resolved()


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    from grader.services.runtime import Runtime

    rt = Runtime.create(settings)
    rt.db.upgrade()
    yield rt
    rt.db.dispose()


@pytest.fixture
def app(settings: Settings, runtime: Runtime) -> Flask:
    from service.compose import create_api

    return create_api(settings, runtime=runtime)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class Tokens:
    """Bearer tokens for each role, and headers built from them."""

    def __init__(self, runtime: Runtime) -> None:
        from grader.services.auth import create_token

        self.ids: dict[str, str] = {}
        self.tokens: dict[str, str] = {}
        for name, role, student in [
            ("admin", "admin", None),
            ("instructor", "instructor", None),
            ("instructor2", "instructor", None),
            ("student", "student", "s1"),
            ("student2", "student", "s2"),
            ("lms", "lms", None),
        ]:
            key_id, token = create_token(runtime.db, role, student_id=student)
            self.ids[name], self.tokens[name] = key_id, token

    def headers(self, name: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}", **extra}


@pytest.fixture
def tokens(runtime: Runtime) -> Iterator[Tokens]:
    yield Tokens(runtime)


@pytest.fixture
def demo_exam(client: FlaskClient, tokens: Tokens, demo_rubric: str) -> str:
    r = client.post(
        "/api/v1/exams",
        data=demo_rubric,
        headers=tokens.headers("instructor", **{"Content-Type": "application/yaml"}),
    )
    assert r.status_code == 201, r.get_json()
    # the students of the Tokens fixture take this exam (issue 15: exam audiences)
    roster = {"student_ids": ["s1", "s2"]}
    r = client.put("/api/v1/exams/demo/roster", json=roster, headers=tokens.headers("instructor"))
    assert r.status_code == 200, r.get_json()
    return "demo"
