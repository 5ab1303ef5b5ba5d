from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from grader.services.auth import revoke_token
from grader.services.runtime import Runtime
from tests.conftest import Tokens


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Basic abc",
        "Bearer",
        "Bearer grd_nope_nope",
        "Bearer grd_x",
        "Bearer eyJhbGciOiJub25lIn0.e30.",
    ],
)
def test_bad_credentials_get_401(client: FlaskClient, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    r = client.get("/api/v1/submissions", headers=headers)
    assert r.status_code == 401 and r.content_type == "application/problem+json"


def test_wrong_secret_and_revoked_key(
    client: FlaskClient, tokens: Tokens, runtime: Runtime
) -> None:
    token = tokens.tokens["student"]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert (
        client.get(
            "/api/v1/submissions", headers={"Authorization": f"Bearer {tampered}"}
        ).status_code
        == 401
    )
    assert client.get("/api/v1/submissions", headers=tokens.headers("student")).status_code == 200
    assert revoke_token(runtime.db, tokens.ids["student"])
    assert client.get("/api/v1/submissions", headers=tokens.headers("student")).status_code == 401


def test_keys_are_stored_hashed(runtime: Runtime, tokens: Tokens) -> None:
    from sqlalchemy import select

    from grader.store.models import ApiKey

    with runtime.db.session() as s:
        stored = [k.secret_hash for k in s.scalars(select(ApiKey))]
    for token in tokens.tokens.values():
        secret = token.split("_", 2)[2]
        assert secret not in stored and all(secret not in h for h in stored)


def test_a_key_for_a_missing_exam_is_refused_and_nothing_is_created(runtime: Runtime) -> None:
    from sqlalchemy import func, select

    from grader.services.auth import create_token
    from grader.services.errors import NotFound
    from grader.store.models import ApiKey

    with runtime.db.session() as s:
        before = s.scalar(select(func.count()).select_from(ApiKey))
    with pytest.raises(NotFound, match="'X'"):
        create_token(runtime.db, "lms", exams=["X"])
    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ApiKey)) == before
