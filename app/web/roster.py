"""The distributed mode's roster of workers, in Redis beside the job queue (`app.web.broker`).

Each worker beats every WORKER_BEAT_EVERY seconds, busy or idle, with what its
searches cost on its hardware; web processes count the workers present and
estimate jobs with their figures only, so that a killed worker's drop out:

    regen:workers    sorted set: worker name -> its last beat (Redis's clock); a worker
                     silent for WORKER_TTL has gone (killed, or its machine lost)
    regen:costs      hash: worker name -> JSON {job kind:model or features -> the cost
                     it measured at start-up}; a gone worker's figures are dropped

No Flask here: the worker imports this too.
"""
import json

from app.web.broker import PREFIX

WORKERS, COSTS = PREFIX + "workers", PREFIX + "costs"
WORKER_BEAT_EVERY = 5.0    # seconds between a worker's beats, busy or idle
WORKER_TTL = 4 * WORKER_BEAT_EVERY   # a worker silent for this long has gone

# KEYS: workers, costs; ARGV: name, its costs (JSON; '' = none). A worker's beat, timed by
# Redis's clock, with its figures in the same step (never present without them).
_BEAT = """
local now = redis.call('TIME')
redis.call('ZADD', KEYS[1], now[1] + now[2] / 1e6, ARGV[1])
if ARGV[2] ~= '' then redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) end
"""

# KEYS: workers, costs; ARGV: ttl. Drop the workers silent for ttl seconds and their costs
# (and costs no present worker left) -> {name, costs JSON or false, ...} of those present
_PRESENT = """
local now = redis.call('TIME')
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now[1] + now[2] / 1e6 - tonumber(ARGV[1])))
for _, name in ipairs(gone) do
  redis.call('ZREM', KEYS[1], name)
  redis.call('HDEL', KEYS[2], name)
end
for _, name in ipairs(redis.call('HKEYS', KEYS[2])) do
  if not redis.call('ZSCORE', KEYS[1], name) then redis.call('HDEL', KEYS[2], name) end
end
local out = {}
for _, name in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  table.insert(out, name)
  table.insert(out, redis.call('HGET', KEYS[2], name))
end
return out
"""


class Roster:
    """The roster's operations on one Redis connection (`broker.connect`; each raises
    redis.RedisError when Redis is unreachable)."""

    def __init__(self, client):
        self.redis = client
        self._beat = client.register_script(_BEAT)
        self._present = client.register_script(_PRESENT)

    def beat(self, worker, costs=None):
        """A worker is present (it beats every WORKER_BEAT_EVERY seconds for as long as it
        runs), with what it measured, if given: {key: {field: seconds}} (`Registry.costs`)."""
        self._beat(keys=[WORKERS, COSTS], args=[worker, json.dumps(costs) if costs else ""])

    def withdraw(self, worker):
        """A worker that stops leaves, its figures with it (one that is killed is dropped
        once it has been silent for WORKER_TTL)."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.zrem(WORKERS, worker)
        pipe.hdel(COSTS, worker)
        pipe.execute()

    def present(self):
        """{name: its costs table ({} if none or malformed)} of the workers present;
        those silent for WORKER_TTL are dropped here, with their figures."""
        flat = self._present(keys=[WORKERS, COSTS], args=[WORKER_TTL])
        present = {}
        for name, text in zip(flat[::2], flat[1::2]):
            try:
                table = json.loads(text) if text else {}
            except ValueError:
                table = {}
            present[name.decode()] = table if isinstance(table, dict) else {}
        return present

    def costs(self):
        """{key: {field: seconds}}: the figures of the workers present, each field the
        largest any of them measured, so that no job is admitted on a faster worker's
        times than the one that may run it. Malformed entries are skipped."""
        merged = {}
        for table in self.present().values():
            for key, fields in table.items():
                if not isinstance(fields, dict):
                    continue
                for name, value in fields.items():
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        kept = merged.setdefault(key, {})
                        kept[name] = max(kept.get(name, value), value)
        return merged
