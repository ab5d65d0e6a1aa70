"""The shared job queue of the distributed mode (`REGEN_BROKER=redis://...`), in Redis.

Web processes admit jobs into it and workers (`python -m app.worker`) claim them;
every step that two processes could race on is one Lua script, so Redis runs it
atomically. Celery carries only a job's id to a worker; everything else about a
job is here:

    regen:waiting          sorted set: job id -> admission order (the queue)
    regen:running          sorted set: job id -> when a worker claimed it
    regen:cost             hash: job id -> estimated seconds (waiting jobs only)
    regen:job:ID           hash: the job (kind, sid, payload, time limit, web process)
    regen:alive:ID         a running job's heartbeat, refreshed by its worker (expires)
    regen:cancel:ID        why a running job must stop (set by its web process)
    regen:final:ID         how the job ended, set once (SET NX) by whoever ends it: JSON
                           {outcome, event, payload}; the job's web process sends that
                           terminal event to its client, so no job ends twice or silently
    regen:web:NAME         a web process's heartbeat: a job whose web process has
                           gone is never run (its client went with it)

The roster of workers (who is present, and what their searches cost) is beside it,
in `app.web.roster`.

No Flask here: the worker imports this too.
"""
import base64
import dataclasses
import json

import redis

PREFIX = "regen:"
WAITING, RUNNING, COST = PREFIX + "waiting", PREFIX + "running", PREFIX + "cost"
JOB_TTL = 6 * 3600         # seconds a job's record outlives its admission
FINAL_TTL = 3600
DELIVERED_TTL = 60         # seconds a final stays once its web process has sent it
HEARTBEAT_TTL = 3.0        # a running job whose worker has not beaten for this long is lost
OUTAGE_GRACE = 3.0         # seconds Redis may be unreachable before a job is given up (web process and worker)
WEB_TTL = 10.0             # a web process silent for this long has gone
CONNECT_TIMEOUT = 2.0      # seconds: a queue that does not answer is "unavailable", never a hang
VISIBILITY_TIMEOUT = 300  # seconds before Celery hands an unacknowledged job id out again
CELERY_QUEUE = "regen"     # the Celery queue job ids travel on
TASK = "regen.run_job"     # the Celery task a worker runs: run_job(job_id)


def job_key(job_id):
    return f"{PREFIX}job:{job_id}"


def alive_key(job_id):
    return f"{PREFIX}alive:{job_id}"


def cancel_key(job_id):
    return f"{PREFIX}cancel:{job_id}"


def final_key(job_id):
    return f"{PREFIX}final:{job_id}"


def web_key(name):
    return f"{PREFIX}web:{name}"


# Every script reads the clock from Redis (TIME), so web processes and workers on
# different machines need not agree on the time.

# KEYS: waiting, running, cost, job, old job's final, old job; ARGV: id, cost, max_queue,
# max_queue_seconds, job ttl, old id ('' = none), final ttl, then field, value, ...
# The client's previous job (old), if still waiting, is replaced: it does not count against the
# limits, and leaves the queue only if the new job is admitted, which then takes its place.
# -> {0, position, replaced} admitted; {1, n, 0} the queue holds n jobs; {2, seconds, 0} that much work
_ADMIT = """
local old = ARGV[6]
local old_waiting = old ~= '' and redis.call('ZSCORE', KEYS[1], old)
local n = redis.call('ZCARD', KEYS[1])
if old_waiting then n = n - 1 end
if n >= tonumber(ARGV[3]) then return {1, n, 0} end
local total = 0
local costs = redis.call('HGETALL', KEYS[3])
for i = 1, #costs, 2 do if costs[i] ~= old then total = total + tonumber(costs[i + 1]) end end
if n > 0 and total + tonumber(ARGV[2]) > tonumber(ARGV[4]) then return {2, math.floor(total), 0} end
local replaced = 0
local order = old_waiting or redis.call('INCR', KEYS[1] .. ':order')   -- a replacement keeps its place
if old_waiting then
  redis.call('ZREM', KEYS[1], old)
  redis.call('HDEL', KEYS[3], old)
  redis.call('DEL', KEYS[6])
  if redis.call('SET', KEYS[5], '{"outcome":"cancelled"}', 'NX', 'EX', tonumber(ARGV[7])) then replaced = 1 end
end
local now = redis.call('TIME')
redis.call('ZADD', KEYS[1], order, ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
for i = 8, #ARGV, 2 do redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1]) end
redis.call('HSET', KEYS[4], 'admitted', now[1] + now[2] / 1e6)
redis.call('EXPIRE', KEYS[4], tonumber(ARGV[5]))
return {0, redis.call('ZCARD', KEYS[2]) + redis.call('ZRANK', KEYS[1], ARGV[1]), replaced}
"""

# KEYS: waiting, running, cost, job, alive, final; ARGV: id, worker, heartbeat ttl ms, final ttl, web prefix
# -> the job's fields (flat) if claimed; {} if it is no longer waiting; {'orphaned'} if its web process has gone
_CLAIM = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return {} end
redis.call('HDEL', KEYS[3], ARGV[1])
local web = redis.call('HGET', KEYS[4], 'web')
if not web or redis.call('EXISTS', ARGV[5] .. web) == 0 then
  redis.call('DEL', KEYS[4])
  redis.call('SET', KEYS[6], '{"outcome":"orphaned"}', 'NX', 'EX', tonumber(ARGV[4]))
  return {'orphaned'}
end
local now = redis.call('TIME')
redis.call('ZADD', KEYS[2], now[1] + now[2] / 1e6, ARGV[1])
redis.call('SET', KEYS[5], ARGV[2], 'PX', tonumber(ARGV[3]))
return redis.call('HGETALL', KEYS[4])
"""

# KEYS: waiting, cost, cancel, final, job; ARGV: id, reason, final ttl
# -> 'dequeued' (it was waiting: ended here, the caller reports it), 'signalled' (a worker
#    will stop it, or it is not admitted yet and will be stopped when it is), 'over' (it had ended)
_CANCEL = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('DEL', KEYS[5])
  if redis.call('SET', KEYS[4], '{"outcome":"cancelled"}', 'NX', 'EX', tonumber(ARGV[3])) then return 'dequeued' end
  return 'over'
end
if redis.call('EXISTS', KEYS[4]) == 1 then return 'over' end
redis.call('SET', KEYS[3], ARGV[2], 'EX', tonumber(ARGV[3]))
return 'signalled'
"""

# A Lua function the two scripts below share: end job `id` wherever it stands (out of the
# queue, its cost, heartbeat and record gone) and set its final unless it has one.
# -> 1 if this call ended the job
_END_JOB = """
local function end_job(waiting, running, cost, alive, final, job, id, outcome, ttl)
  redis.call('ZREM', waiting, id)
  redis.call('ZREM', running, id)
  redis.call('HDEL', cost, id)
  redis.call('DEL', alive, job)
  if redis.call('SET', final, outcome, 'NX', 'EX', ttl) then return 1 end
  return 0
end
"""

# KEYS: waiting, running, cost, alive, final, job; ARGV: id, final (JSON), final ttl
# End a job (a worker's done or error; a web process's lost, timeout or unavailable).
_FINISH = _END_JOB + """
return end_job(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], ARGV[1], ARGV[2], tonumber(ARGV[3]))
"""

# KEYS: waiting, running, cost; ARGV: prefix, final ttl
# Drop what nobody will end: waiting jobs whose record or web process has gone (orphaned),
# running jobs with no heartbeat whose web process has gone or that have already ended
# (lost). -> how many
_SWEEP = _END_JOB + """
local p, ttl = ARGV[1], tonumber(ARGV[2])
local swept = 0
local function web_gone(id)
  local web = redis.call('HGET', p .. 'job:' .. id, 'web')
  return (not web) or redis.call('EXISTS', p .. 'web:' .. web) == 0
end
local function drop(id, outcome)
  end_job(KEYS[1], KEYS[2], KEYS[3], p .. 'alive:' .. id, p .. 'final:' .. id, p .. 'job:' .. id, id, outcome, ttl)
  swept = swept + 1
end
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if web_gone(id) then drop(id, '{"outcome":"orphaned"}') end
end
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if redis.call('EXISTS', p .. 'alive:' .. id) == 0 and
     (redis.call('EXISTS', p .. 'final:' .. id) == 1 or web_gone(id)) then
    drop(id, '{"outcome":"lost"}')
  end
end
return swept
"""

@dataclasses.dataclass
class JobState:
    """Where a job stands, as its web process polls it (times by Redis's clock)."""
    final: str | None          # how it ended (its outcome), if it has
    end: tuple | None          # (event, payload) to send its client, if whoever ended it left one
    position: int | None       # jobs ahead of it (running ones included), if waiting
    running_for: float | None  # seconds since a worker claimed it, if one has
    alive: bool                # its worker beat recently
    known: bool                # Redis still has its record (False after Redis lost its data)


def connect(url):
    """A Redis client that fails fast (CONNECT_TIMEOUT) instead of hanging."""
    return redis.Redis.from_url(url, socket_timeout=CONNECT_TIMEOUT, socket_connect_timeout=CONNECT_TIMEOUT,
                                health_check_interval=5)


def message_queue(url, write_only=False):
    """Flask-SocketIO's Redis message queue (python-socketio's RedisManager) on `url`, with
    a connect timeout so that an unreachable Redis fails fast. A subscriber (web process)
    gets no read timeout: its listener waits for messages for as long as it takes."""
    import socketio
    options = {"socket_connect_timeout": CONNECT_TIMEOUT}
    if write_only:
        options["socket_timeout"] = CONNECT_TIMEOUT
    return socketio.RedisManager(url, channel="flask-socketio", write_only=write_only, redis_options=options)


def celery_app(url):
    """The Celery app both sides use: web processes send job ids with it, workers run them.

    One job at a time per worker, taken only when the worker is free (prefetch 1,
    acknowledged after the task). A job id that comes back after its worker died
    is harmless: `SharedQueue.claim` refuses a job that is no longer waiting, so
    no job runs twice; the web process reports the dead worker's job instead."""
    from celery import Celery
    app = Celery("regen", broker=url)
    app.conf.update(
        task_acks_late=True, worker_prefetch_multiplier=1, task_ignore_result=True,
        task_default_queue=CELERY_QUEUE, broker_connection_retry_on_startup=True,
        broker_connection_timeout=CONNECT_TIMEOUT, worker_hijack_root_logger=False,
        task_publish_retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5},
        # a message a worker took but never acknowledged (it died) comes back after this; claim()
        # makes that harmless, and a job no worker took ends at its web process's wait limit
        broker_transport_options={"socket_timeout": CONNECT_TIMEOUT, "socket_connect_timeout": CONNECT_TIMEOUT,
                                  "visibility_timeout": VISIBILITY_TIMEOUT},
    )
    return app


def encode_payload(value):
    """A job payload or a terminal event's payload -> JSON text; bytes (uploads, PNGs)
    go as {"__bytes__": base64}."""
    def default(v):
        if isinstance(v, (bytes, bytearray, memoryview)):
            return {"__bytes__": base64.b64encode(bytes(v)).decode("ascii")}
        raise TypeError(f"cannot queue a {type(v).__name__}")
    return json.dumps(value, default=default, separators=(",", ":"))


def decode_payload(text):
    return json.loads(text, object_hook=lambda d: base64.b64decode(d["__bytes__"]) if set(d) == {"__bytes__"} else d)


class SharedQueue:
    """The queue's operations on one Redis connection (each raises redis.RedisError when
    Redis is unreachable)."""

    def __init__(self, client):
        self.redis = client
        self._admit = client.register_script(_ADMIT)
        self._claim = client.register_script(_CLAIM)
        self._cancel = client.register_script(_CANCEL)
        self._finish = client.register_script(_FINISH)
        self._sweep = client.register_script(_SWEEP)

    def admit(self, job_id, cost, fields, max_queue, max_queue_seconds, replacing=None):
        """Queue a job if the shared limits allow, in place of the client's job `replacing`
        if that is still waiting. Returns (0, position, replaced) when admitted, or
        (1, waiting jobs, False) / (2, queued seconds, False) when refused as busy.
        `fields`: str -> str."""
        flat = [x for kv in fields.items() for x in kv]
        old = replacing or ""
        code, value, replaced = self._admit(
            keys=[WAITING, RUNNING, COST, job_key(job_id), final_key(old), job_key(old)],
            args=[job_id, f"{cost:.6f}", max_queue, max_queue_seconds, JOB_TTL, old, FINAL_TTL, *flat])
        return int(code), int(value), bool(replaced)

    def claim(self, job_id, worker):
        """Take a waiting job to run: its fields (dict of str), None if it is no longer
        waiting (cancelled, or already taken), or "orphaned" if its web process is gone."""
        flat = self._claim(keys=[WAITING, RUNNING, COST, job_key(job_id), alive_key(job_id), final_key(job_id)],
                           args=[job_id, worker, int(HEARTBEAT_TTL * 1000), FINAL_TTL, PREFIX + "web:"])
        if not flat:
            return None
        if flat == [b"orphaned"]:
            return "orphaned"
        return {flat[i].decode(): flat[i + 1].decode() for i in range(0, len(flat), 2)}

    def heartbeat(self, job_id, worker):
        self.redis.set(alive_key(job_id), worker, px=int(HEARTBEAT_TTL * 1000))

    def cancel(self, job_id, reason):
        """'dequeued', 'signalled' or 'over' (see _CANCEL)."""
        return self._cancel(keys=[WAITING, COST, cancel_key(job_id), final_key(job_id), job_key(job_id)],
                            args=[job_id, reason, FINAL_TTL]).decode()

    def stop_reason(self, job_id):
        """Why a running job must stop, or None: its web process cancelled it, or it has
        already ended (its web process gave it up as lost, past its time or unavailable)."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(cancel_key(job_id))
        pipe.exists(final_key(job_id))
        reason, ended = pipe.execute()
        if reason is not None:
            return reason.decode()
        return "the job was ended by its web process" if ended else None

    def finish(self, job_id, outcome, event=None, payload=None):
        """End a job with `outcome` wherever it stands, with, from a worker, the terminal
        `event` and `payload` its web process is to send. True if this call ended it,
        False if it had already ended."""
        final = encode_payload({"outcome": outcome, **({"event": event, "payload": payload} if event else {})})
        return bool(self._finish(keys=[WAITING, RUNNING, COST, alive_key(job_id), final_key(job_id), job_key(job_id)],
                                 args=[job_id, final, FINAL_TTL]))

    def delivered(self, job_id):
        """The web process has sent the job's end: its final (a done's PNGs) need not stay long."""
        self.redis.expire(final_key(job_id), DELIVERED_TTL)

    def sweep(self):
        """Drop stranded entries (see _SWEEP); returns how many."""
        return int(self._sweep(keys=[WAITING, RUNNING, COST], args=[PREFIX, FINAL_TTL]))

    def states(self, job_ids):
        """{job id: JobState} in one round trip, read atomically (MULTI/EXEC: a job cannot
        end between two of its reads and look unknown)."""
        ids = list(job_ids)
        pipe = self.redis.pipeline(transaction=True)
        pipe.time()
        pipe.zcard(RUNNING)
        for job_id in ids:
            pipe.get(final_key(job_id))
            pipe.zrank(WAITING, job_id)
            pipe.zscore(RUNNING, job_id)
            pipe.exists(alive_key(job_id))
            pipe.hget(job_key(job_id), "admitted")
        out = pipe.execute()
        (seconds, micros), running, states = out[0], out[1], {}
        now = seconds + micros / 1e6
        for i, job_id in enumerate(ids):
            final, rank, since, alive, admitted = out[2 + 5 * i:7 + 5 * i]
            final = decode_payload(final) if final is not None else {}
            states[job_id] = JobState(
                final.get("outcome"), (final["event"], final["payload"]) if "event" in final else None,
                None if rank is None else running + rank,
                None if since is None else now - float(since), bool(alive), admitted is not None)
        return states

    def web_heartbeat(self, name):
        self.redis.set(web_key(name), "1", px=int(WEB_TTL * 1000))

    def counts(self):
        pipe = self.redis.pipeline(transaction=False)
        pipe.zcard(WAITING)
        pipe.zcard(RUNNING)
        waiting, running = pipe.execute()
        return {"waiting": waiting, "running": running}
