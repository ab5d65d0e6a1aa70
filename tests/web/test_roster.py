"""The roster of workers (app/web/roster.py) against a real Redis: who is present and
which figures the web processes estimate jobs with."""

import pytest

from app.web import broker
from app.web.roster import COSTS, WORKER_TTL, WORKERS, Roster
from tests.web.helpers import needs_redis

pytestmark = needs_redis


@pytest.fixture
def roster():
    from bench.cluster import running_redis
    with running_redis() as server:
        yield Roster(broker.connect(server.url))


def test_jobs_are_estimated_with_the_slowest_workers_costs(roster):
    assert roster.costs() == {}
    roster.beat("fast", {"complete:faces": {"fixed": 0.004, "per_candidate": 0.002},
                          "dream:random": {"fixed": 0.01, "per_pixel": 1e-6}})
    roster.beat("slow", {"complete:faces": {"fixed": 0.009, "per_candidate": 0.001}})
    for name, text in {"broken": "not json", "list": "[1, 2]", "shapes": '{"complete:faces": 3, "x": {"fixed": "slow"}}'}.items():
        roster.beat(name)
        roster.redis.hset(COSTS, name, text)
    assert roster.costs() == {"complete:faces": {"fixed": 0.009, "per_candidate": 0.002},
                              "dream:random": {"fixed": 0.01, "per_pixel": 1e-6}}
    roster.beat("slow", {"complete:faces": {"fixed": 0.001, "per_candidate": 0.001}})
    assert roster.costs()["complete:faces"]["fixed"] == 0.004, "a worker's new figures replace its old ones"
    roster.withdraw("fast")
    assert roster.costs()["complete:faces"] == {"fixed": 0.001, "per_candidate": 0.001}
    assert "fast" not in roster.present()


def test_a_silent_worker_and_its_costs_drop_out(roster):
    roster.beat("killed", {"complete:faces": {"fixed": 5.0, "per_candidate": 1.0}})
    roster.beat("alive", {"complete:faces": {"fixed": 0.01, "per_candidate": 0.002}})
    roster.beat("idle")
    roster.redis.hset(COSTS, "never-beat", '{"complete:faces": {"fixed": 9.0}}')
    assert set(roster.present()) == {"killed", "alive", "idle"}
    assert roster.costs()["complete:faces"]["fixed"] == 5.0
    # "killed" last beat just over WORKER_TTL ago (by Redis's clock), "alive" just under
    now = float(roster.redis.time()[0])
    roster.redis.zadd(WORKERS, {"killed": now - WORKER_TTL - 1, "alive": now - WORKER_TTL + 2})
    assert roster.present() == {"alive": {"complete:faces": {"fixed": 0.01, "per_candidate": 0.002}}, "idle": {}}
    assert roster.costs() == {"complete:faces": {"fixed": 0.01, "per_candidate": 0.002}}
    assert set(roster.redis.hkeys(COSTS)) == {b"alive"}, "the gone worker's figures are deleted, not kept"
