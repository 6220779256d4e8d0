"""The counters in Redis, shared by every gateway instance: one Lua script call per key and batch (atomic in Redis).

Keys (``{id}`` is a hash tag, so a key's counters stay on one cluster slot and one call touches one slot)::

    vllora:{key_id}:rpm             sorted set of admission times (ms): exact sliding window
    vllora:{key_id}:tpm:<minute>    tokens admitted in that minute window (this and the previous are read)
    vllora:{key_id}:spend:<period>  USD spent in the budget period (seeded from the request log, NX)

Calls are coalesced per key id: admissions and settlements are queued, and one flush per event-loop turn sends
ONE script call per key id carrying the queued settlements (summed per counter, applied first) and then the queued
admissions (in arrival order); the script answers one decision per admission. The calls of all key ids of a turn
go out pipelined in one write over the limiter's own connection (``vllora.keys.redis_link``). Each admission is
still checked and taken atomically against the shared counters, so N instances together admit at most the limit,
and a settled cost is seen by every later admission. One pipeline is in flight at a time: what arrives meanwhile
goes in the next one, sent as soon as the answers are back (under load, batches grow instead of calls).
Settlements are never awaited by a request: they ride with the next admissions, or go out within
``SETTLE_DELAY_S`` when none come, and at ``aclose``. Seeding and reading spend use the ``redis`` client.
The calls are packed in ``vllora.keys.redis_calls``.

A busy key is leased (``vllora.keys.lease``): ``admit_now`` admits it from a chunk of its capacity that this
instance took from Redis ahead of need (the chunk's requests and tokens are counted there when taken), without a
Redis call or a wait; the next chunk is asked for in the same pipelines, unused parts go back in them.

A Redis error (refused, reset, no answer within the link's deadline) fails every admission of its pipeline, and a
script error every admission of its key id, with ``LimitsUnavailable`` (the gate applies the configured
policy, fail open or closed); a failed settlement is counted and logged (at most once per 10 s), not retried.
Any failure drops every lease, so the admissions that follow go to Redis and meet the policy.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from vllora.keys.lease import LEASE_TTL_S, Ask, Lease
from vllora.keys.limits import WINDOW_S, Decision, SpendLoader
from vllora.keys.redis_calls import Admit, Answer, Call, Queue, decision, decode_answers, pack_call
from vllora.keys.redis_link import RedisLink, pack
from vllora.keys.redis_script import BATCH
from vllora.keys.repo import KeyRecord, period_bounds

log = logging.getLogger("vllora.keys")
SETTLE_DELAY_S = 0.05
LEASES_MAX = 10_000  # keys with a lease (or a demand counted) at once; past it they are all dropped


class LimitsUnavailable(Exception):
    """Redis could not be reached or answered with an error."""


@dataclass(slots=True)
class _Turn:
    """What the next pipeline takes (per key id), and that pipeline once it is sent."""

    queues: dict[str, Queue] = field(default_factory=dict)
    sent: asyncio.Task[None] | None = None


class RedisLimiter:
    kind = "redis"

    def __init__(self, url: str, load_spend: SpendLoader, client: Any = None) -> None:
        import redis.asyncio as redis
        from redis.exceptions import NoScriptError

        self.url = url
        if client is None:  # for what is rare (seeding spend, reading it): a small pool, connected when first used
            pool = redis.BlockingConnectionPool.from_url(url, max_connections=16, timeout=5.0, socket_timeout=5.0,
                                                         socket_connect_timeout=2.0, health_check_interval=30)
            client = redis.Redis.from_pool(pool)  # the client owns the pool: aclose() closes its connections
        self.client = client
        self._link = RedisLink(url)  # the script calls: one connection of their own, pipelined
        self.load_spend = load_spend
        self._sha = hashlib.sha1(BATCH.encode()).hexdigest()
        self._no_script: type[Exception] = NoScriptError
        self._seeded: set[tuple[str, str]] = set()
        self._seeding: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._periods: dict[str, tuple[str, float | None, float | None]] = {}  # period kind -> its current bounds
        self._next = _Turn()  # what the next pipeline takes
        self._inflight: asyncio.Task[None] | None = None  # at most one pipeline at a time; meanwhile batches grow
        self._member = secrets.token_hex(6)  # rpm set members: this process's prefix, a call number, the op's index
        self._seq = 0
        self._heads: dict[tuple[str, ...], bytes] = {}  # a call's keys -> EVALSHA, sha and keys, packed
        self._leases: dict[str, Lease] = {}  # key id -> its lease here (``vllora.keys.lease``)
        self.leases = 0  # chunks granted
        self._turn_armed = False
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.calls = 0  # script calls sent (each carries one or more admissions and settlements)
        self.errors = 0
        self.settles_dropped = 0
        self.last_error: str | None = None
        self._warned = 0.0

    def _fail(self, exc: BaseException, dropped: int = 0) -> LimitsUnavailable:
        """Count a Redis failure and log it (at most once per 10 s); ``dropped``: settlements it lost."""
        self.errors += 1
        self.settles_dropped += dropped
        self._leases.clear()  # what they hold stays counted in Redis; admissions ask Redis (and meet the policy)
        self.last_error = type(exc).__name__
        now = time.monotonic()
        if now - self._warned > 10:
            self._warned = now
            what = f"{dropped} settlement(s) not counted" if dropped else "applying the configured policy"
            log.warning("redis at %s failed (%s): %s", _host(self.url), type(exc).__name__, what)
        return LimitsUnavailable(type(exc).__name__)

    # spend: seeded once per key and period from the request log ------------------------------------------------
    def _period(self, kind: str, now: float) -> tuple[str, float | None, float | None]:
        bounds = self._periods.get(kind)
        if bounds is None or (bounds[1] is not None and not bounds[1] <= now < (bounds[2] or 0.0)):
            bounds = self._periods[kind] = period_bounds(kind, now)
        return bounds

    def _spend_name(self, key: KeyRecord, now: float) -> tuple[str, bool]:
        """The spend counter's name for this period, and whether it is seeded already (a set lookup)."""
        period = self._period(key.period, now)[0]
        return f"vllora:{{{key.id}}}:spend:{period}", (key.id, period) in self._seeded

    async def _seed_spend(self, key: KeyRecord, now: float) -> str:
        period, start, end = self._period(key.period, now)
        name = f"vllora:{{{key.id}}}:spend:{period}"
        slot = (key.id, period)
        if slot not in self._seeded:  # once per key and period; requests that come meanwhile wait for the same one
            seeding = self._seeding.get(slot)
            if seeding is None:
                seeding = self._seeding[slot] = asyncio.get_running_loop().create_task(
                    self._seed(slot, name, key.id, start, ((end - now) if end else 400 * 86400)))
                seeding.add_done_callback(lambda task: self._seeded_done(slot, task))
            await asyncio.shield(seeding)
        return name

    async def _seed(self, slot: tuple[str, str], name: str, key_id: str, start: float | None, left_s: float) -> None:
        spent = await self.load_spend(key_id, start)
        await self.client.set(name, repr(float(spent)), nx=True, px=int(left_s * 1000) + 86_400_000)
        self._seeded.add(slot)

    def _seeded_done(self, slot: tuple[str, str], task: asyncio.Task[None]) -> None:
        if self._seeding.get(slot) is task:
            del self._seeding[slot]
        if not task.cancelled():
            task.exception()  # retrieved here too: its waiters may all have gone

    async def spent(self, key: KeyRecord, now: float) -> float:
        await self._drain()  # what was settled so far counts
        try:
            name = await self._seed_spend(key, now)
            return float(await self.client.get(name) or 0)
        except Exception as exc:
            raise self._fail(exc) from None

    # the Limiter interface ----------------------------------------------------------------------------------------
    def admit_now(self, key: KeyRecord, est_tokens: int, now: float) -> Decision | None:
        """From this instance's lease of the key, in memory; None when it holds none that fits (then ``admit``)."""
        lease = self._leases.get(key.id)
        if lease is None:
            return None
        decision = lease.take(key, est_tokens, now)
        if lease.ended:
            self._queue(key.id).returns += lease.ended
            lease.ended = []
            if self._timer is None:
                self._timer = asyncio.get_running_loop().call_later(SETTLE_DELAY_S, self._flush_settles)
        if decision is not None and not lease.asking and lease.left * 2 <= lease.last_grant:  # lease.due, inlined
            self._ask(key, lease, now)
        return decision

    def _queue(self, key_id: str) -> Queue:
        queues = self._next.queues
        queue = queues.get(key_id)
        if queue is None:
            queue = queues[key_id] = Queue()
        return queue

    def _ask(self, key: KeyRecord, lease: Lease, now: float) -> None:
        """Queue a lease call for the key (sent within this event-loop turn), unless its chunk would be too small."""
        wanted = lease.want(key, now)
        if wanted is None:
            return
        spend = self._spend_name(key, now)[0] if key.budget_usd is not None else ""
        self._seq += 1
        lease.asking = True
        self._queue(key.id).ask = Ask(key, wanted[0], wanted[1], now, f"{self._member}L{self._seq}:", spend)
        if not self._turn_armed:
            self._turn_armed = True
            asyncio.get_running_loop().call_soon(self._flush_turn)

    async def admit(self, key: KeyRecord, est_tokens: int, now: float) -> Decision:
        spend = ""
        if key.budget_usd is not None:
            spend, seeded = self._spend_name(key, now)
            if not seeded:
                try:
                    await self._seed_spend(key, now)
                except Exception as exc:
                    raise self._fail(exc) from None
        future: asyncio.Future[Decision] = asyncio.get_running_loop().create_future()
        self._queue(key.id).admits.append(Admit(key, est_tokens, now, future, spend))
        if not self._turn_armed:
            self._turn_armed = True
            asyncio.get_running_loop().call_soon(self._flush_turn)
        lease = self._leases.get(key.id)
        if lease is None:
            if len(self._leases) >= LEASES_MAX:
                self._leases.clear()
            lease = self._leases[key.id] = Lease(since=now)
        lease.seen(est_tokens)
        if lease.due(now):
            self._ask(key, lease, now)
        return await future

    def settle(self, key: KeyRecord, est_tokens: int, actual_tokens: int, cost: float, now: float) -> None:
        tokens = actual_tokens - est_tokens if key.tpm is not None else 0
        charge = cost if cost and key.budget_usd is not None else 0.0
        if not tokens and not charge:
            return
        queue = self._queue(key.id)
        queue.settled += 1
        if tokens:
            window = int(now // WINDOW_S)
            queue.tokens[window] = queue.tokens.get(window, 0) + tokens
        if charge:
            name, seeded = self._spend_name(key, now)
            queue.costs[name] = queue.costs.get(name, 0.0) + charge
            if not seeded:
                queue.unseeded[name] = (key, now)
            lease = self._leases.get(key.id)
            if lease is not None:
                lease.charged += charge
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(SETTLE_DELAY_S, self._flush_settles)

    def status(self) -> dict[str, object]:
        return {"backend": "redis", "url": _host(self.url), "errors": self.errors, "last_error": self.last_error,
                "settles_dropped": self.settles_dropped, "calls": self.calls, "leases": self.leases,
                "leased_keys": sum(1 for lease in self._leases.values() if lease.chunks)}

    async def aclose(self) -> None:
        """Give back what the leases did not use, flush everything queued (settlements included), then close."""
        for key_id, lease in self._leases.items():
            returns = lease.close()
            if returns:
                self._queue(key_id).returns += returns
        self._leases.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await self._drain(admits=True)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._link.aclose()
        await self.client.aclose()

    # batching -----------------------------------------------------------------------------------------------------
    def _flush_turn(self) -> None:
        """Once per event-loop turn with admissions queued: send them, unless a pipeline is in flight (then it will)."""
        self._turn_armed = False
        if self._inflight is None and self._next.queues:
            self._start()

    def _flush_settles(self) -> None:
        """The timer: settlements that no admission carried within SETTLE_DELAY_S go out on their own."""
        self._timer = None
        if self._inflight is None and self._next.queues:
            self._start()

    def _start(self) -> asyncio.Task[None]:
        turn, self._next = self._next, _Turn()
        task = turn.sent = asyncio.get_running_loop().create_task(self._pipeline(turn))
        self._inflight = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _drain(self, admits: bool = False) -> None:
        """Until what is queued now (settlements; admissions too with ``admits``) and what is in flight is sent."""
        turn = self._next
        if not any(q.settled or q.returns or (admits and (q.admits or q.ask)) for q in turn.queues.values()):
            if self._inflight is not None:
                await asyncio.shield(self._inflight)
            return
        while turn.sent is None:
            if self._inflight is None:
                self._start()
            else:
                await asyncio.shield(self._inflight)
        await asyncio.shield(turn.sent)

    async def _pipeline(self, turn: _Turn) -> None:
        try:
            await self._send(turn.queues)
        finally:
            for queue in turn.queues.values():  # only if _send itself broke: no request waits forever
                for a in queue.admits:
                    if not a.future.done():
                        a.future.set_exception(LimitsUnavailable("internal error"))
                if queue.ask is not None and not queue.ask.answered:
                    self._granted(queue.ask, None)
            self._inflight = None
            queues = self._next.queues
            if any(q.admits or q.ask for q in queues.values()):  # arrived while this pipeline was in flight
                self._start()
            elif queues and self._timer is None:
                self._timer = asyncio.get_running_loop().call_later(SETTLE_DELAY_S, self._flush_settles)

    async def _send(self, queues: dict[str, Queue]) -> None:
        """One script call per key id, all in one pipelined write; each answers its own admissions (and lease)."""
        calls: list[Call] = []
        for key_id, queue in queues.items():
            for name, (key, now) in queue.unseeded.items():  # a period this process has not admitted in yet
                try:
                    await self._seed_spend(key, now)
                except Exception as exc:
                    self._fail(exc, dropped=1)
                    queue.costs.pop(name, None)
            self._seq += 1
            call = pack_call(key_id, queue, f"{self._member}{self._seq}:", self._sha, self._heads, self._leases)
            if call is not None:
                calls.append(call)
        if not calls:
            return
        self.calls += len(calls)
        try:
            replies = await self._link.run([c.packed for c in calls])
            missing = [i for i, reply in enumerate(replies) if isinstance(reply, self._no_script)]
            if missing:  # a new or restarted Redis: load the script, then send those calls again (same pipeline)
                again = await self._link.run([pack(b"SCRIPT", b"LOAD", BATCH.encode()), *(calls[i].packed for i in missing)])
                for i, reply in zip(missing, again[1:], strict=True):
                    replies[i] = reply
        except Exception as exc:
            failed = self._fail(exc, dropped=sum(c.settled for c in calls))
            for call in calls:
                for a in call.admits:
                    if not a.future.done():
                        a.future.set_exception(LimitsUnavailable(*failed.args))
            return
        for call, reply in zip(calls, replies, strict=True):
            admits, ask = call.admits, call.ask
            try:
                if isinstance(reply, Exception):
                    raise reply
                answers = decode_answers(reply) if admits or ask else []
            except Exception as exc:  # a script error for this key id only
                failed = self._fail(exc, dropped=call.settled)
                for a in admits:
                    if not a.future.done():
                        a.future.set_exception(LimitsUnavailable(*failed.args))
                continue
            for a, answer in zip(admits, answers[:len(admits)], strict=True):
                if not a.future.done():  # its request may have gone away meanwhile
                    a.future.set_result(decision(a.key, a.now, answer))
            if ask is not None:
                self._granted(ask, answers[-1])

    def _granted(self, ask: Ask, answer: Answer | None) -> None:
        ask.answered = True
        lease = self._leases.get(ask.key.id)
        if lease is None or answer is None:  # dropped meanwhile (a Redis failure, too many keys): what was granted expires unused
            if lease is not None:
                lease.asking = False  # dropped meanwhile (a Redis failure, too many keys): what was granted expires unused
            return
        ok, _, _, requests, tokens, spent, rem_req, rem_tok = answer
        if ok:
            self.leases += 1
        lease.granted(ask, int(requests) if ok else 0, int(tokens) if ok else 0, float(spent), rem_req, rem_tok,
                      ask.now + LEASE_TTL_S)

def _host(url: str) -> str:
    """The URL without credentials."""
    rest = url.split("://", 1)[-1]
    return rest.rsplit("@", 1)[-1]
