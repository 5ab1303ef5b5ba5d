"""BAD_INPUTS 21: a broker that evicts loses tasks; ours must be noeviction."""

from __future__ import annotations

import redis


def test_local_redis_never_evicts(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2)
    assert client.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
