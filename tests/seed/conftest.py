"""The seed-rubric tier: tests of rubrics/dl-ws2324.yaml and the graded dev answers of the
seed exam (../shared/eval/seed_exam_dev.jsonl). They test the rubric's content, not the
code's contracts, so a change to the rubric shows up here and nowhere in tests/unit.
`pytest tests/seed` or `pytest -m seed` runs them (with the real-service path test,
tests/integration/test_same_grade_every_path.py); `make test` runs them with the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.seed)
