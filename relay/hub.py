"""Live thread updates, the domain half: events travel through the `events` table, never
process memory alone, so a listener on one relay process hears changes made on another.
Each process runs one `EventHub`, whose single poller reads new rows and hands each to the
subscribers of its thread (relay.web.sse streams them to browsers)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from relay.db import is_sqlite
from relay.models import Event

log = logging.getLogger("relay.hub")

MAX_SUBSCRIBERS = 5000  # per process; each holds a connection and a small queue
QUEUE_SIZE = 256  # events a slow listener may fall behind before it must resync
BATCH = 1000  # rows per poll
REPLAY_LIMIT = 500  # missed events replayed on reconnect; more than that means resync
GAP_SECONDS = 30.0  # how long a skipped id may still turn up (see _Cursor)
MAX_GAPS = 10_000
RESYNC = "resync"  # a made-up kind: events were lost, reload the thread
CLOSED = "closed"  # a made-up kind: the hub stopped


@dataclass(frozen=True)
class LiveEvent:
    id: int
    thread_id: str | None
    kind: str
    message_id: str | None = None


class HubFull(Exception):
    """This process holds MAX_SUBSCRIBERS listeners already."""


class ClientFull(Exception):
    """This client address holds its share of listeners in this process already."""


@dataclass
class _Cursor:
    """Which event ids the poller has read. PostgreSQL hands out an id at INSERT but shows
    the row only at COMMIT, so a smaller id may appear after a larger one: ids skipped over
    are asked for again until GAP_SECONDS pass (a rolled-back insert never fills its gap)."""

    last: int
    gaps: dict[int, float] = field(default_factory=dict)  # missing id -> when first missed

    def advance(self, ids: Iterable[int], now: float) -> None:
        ids = sorted(ids)
        for id_ in ids:
            self.gaps.pop(id_, None)
        fresh = [id_ for id_ in ids if id_ > self.last]
        if fresh:
            missing = set(range(self.last + 1, fresh[-1])) - set(fresh)
            if len(self.gaps) + len(missing) <= MAX_GAPS:
                self.gaps.update(dict.fromkeys(missing, now))
            self.last = fresh[-1]
        for id_, since in list(self.gaps.items()):
            if now - since > GAP_SECONDS:
                del self.gaps[id_]


class Subscription:
    """The events of some threads: replayed ones first, then live ones from a bounded queue.
    Iterate it or call `get`; close it when done."""

    def __init__(self, hub: EventHub, thread_ids: frozenset[str], client: str | None) -> None:
        self.thread_ids = thread_ids
        self.client = client
        self.closed = False
        self._hub = hub
        self._queue: asyncio.Queue[LiveEvent] = asyncio.Queue(QUEUE_SIZE)
        self._backlog: deque[LiveEvent] = deque()
        self._replayed: set[int] = set()
        self._floor = 0  # the client has live events up to here (or reloads them)

    def offer(self, event: LiveEvent) -> None:
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            # Dropping everything but one resync keeps memory flat; its id lets the client
            # resume after the events it will reload anyway.
            self._replace(LiveEvent(event.id, None, RESYNC))

    def _replace(self, event: LiveEvent) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(event)

    def _replay(self, after_id: int, events: list[LiveEvent]) -> None:
        # The subscription was live before the replay query ran, so an event may come both
        # ways, or be one the client had already; the live copy is dropped.
        self._backlog.extend(events)
        self._replayed = {event.id for event in events if event.kind != RESYNC}
        resynced = [event.id for event in events if event.kind == RESYNC]
        self._floor = max([after_id, *resynced])

    def _is_replayed(self, event: LiveEvent) -> bool:
        if event.kind == CLOSED:  # it has no id of its own
            return False
        return event.id in self._replayed or event.id <= self._floor

    async def get(self, wait: float | None = None) -> LiveEvent | None:
        """The next event, or None after `wait` seconds without one."""
        if self._backlog:
            return self._backlog.popleft()
        try:
            async with asyncio.timeout(wait):
                while self._is_replayed(event := await self._queue.get()):
                    pass
                return event
        except TimeoutError:
            return None

    def close(self) -> None:
        self._hub._remove(self)

    def __aiter__(self) -> AsyncIterator[LiveEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[LiveEvent]:
        while (event := await self.get()) is not None and event.kind != CLOSED:
            yield event


class EventHub:
    """One per process: one poller task reads new events and fans them out by thread."""

    def __init__(
        self, engine: AsyncEngine, *, poll_seconds: float = 0.2, per_client: int | None = None
    ) -> None:
        self.poll_seconds = poll_seconds
        self.per_client = per_client  # listeners at once from one client address; None: any
        self._by_client: dict[str, int] = {}
        self._engine = _reader(engine)
        self._owns_engine = self._engine is not engine
        self._by_thread: dict[str, set[Subscription]] = {}
        self._count = 0
        self._cursor = _Cursor(last=0)
        self._task: asyncio.Task[None] | None = None
        self._poked = asyncio.Event()
        self._closing = False

    def poke(self) -> None:
        """Poll now: another process committed an event (relay.wakeups)."""
        self._poked.set()

    @property
    def subscribers(self) -> int:
        return self._count

    async def start(self) -> None:
        async with self._engine.connect() as conn:
            self._cursor.last = (await conn.scalar(select(func.max(Event.id)))) or 0
        self._task = asyncio.create_task(self._run(), name="relay-event-hub")

    def close_streams(self) -> None:
        """The process is stopping: end every live stream now (its client reconnects, to
        another instance behind a load balancer) and take no new one."""
        self._closing = True
        for subscriptions in list(self._by_thread.values()):
            for subscription in list(subscriptions):
                subscription._replace(LiveEvent(0, None, CLOSED))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self.close_streams()
        if self._owns_engine:
            await self._engine.dispose()

    async def subscribe(
        self, thread_ids: set[str], after_id: int | None = None, *, client: str | None = None
    ) -> Subscription:
        """Events of these threads: those after `after_id` from the database, then live ones."""
        if self._count >= MAX_SUBSCRIBERS or self._closing:
            raise HubFull
        held = self._by_client.get(client, 0) if client is not None else 0
        if self.per_client is not None and held >= self.per_client:
            raise ClientFull
        subscription = Subscription(self, frozenset(thread_ids), client)
        for thread_id in subscription.thread_ids:
            self._by_thread.setdefault(thread_id, set()).add(subscription)
        self._count += 1
        if client is not None:
            self._by_client[client] = held + 1
        if after_id is not None:
            try:
                subscription._replay(after_id, await self.replay(thread_ids, after_id))
            except BaseException:
                subscription.close()
                raise
        return subscription

    def _remove(self, subscription: Subscription) -> None:
        if subscription.closed:
            return
        subscription.closed = True
        for thread_id in subscription.thread_ids:
            subscribers = self._by_thread.get(thread_id, set())
            subscribers.discard(subscription)
            if not subscribers:
                self._by_thread.pop(thread_id, None)
        self._count -= 1
        if (client := subscription.client) is not None:
            if (held := self._by_client.pop(client, 1) - 1) > 0:
                self._by_client[client] = held

    async def replay(self, thread_ids: set[str], after_id: int) -> list[LiveEvent]:
        """Events after `after_id`, oldest first; one resync event instead if too many."""
        query = (
            select(Event.id, Event.thread_id, Event.kind, Event.message_id)
            .where(Event.thread_id.in_(thread_ids), Event.id > after_id)
            .order_by(Event.id)
            .limit(REPLAY_LIMIT + 1)
        )
        async with self._engine.connect() as conn:
            events = [LiveEvent(*row) for row in await conn.execute(query)]
            if len(events) <= REPLAY_LIMIT:
                return events
            newest = await conn.scalar(
                select(func.max(Event.id)).where(Event.thread_id.in_(thread_ids))
            )
        return [LiveEvent(newest, None, RESYNC)]

    async def _run(self) -> None:
        while True:
            try:
                full = await self.poll()
            except Exception:
                log.exception("polling events failed; retrying")
                full = False
                await asyncio.sleep(max(self.poll_seconds, 2.0))
            if not full:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._poked.wait(), self.poll_seconds)
            self._poked.clear()

    async def poll(self) -> bool:
        """Deliver the events committed since the last poll; True if there may be more."""
        cursor = self._cursor
        condition = Event.id > cursor.last
        if cursor.gaps:
            condition = or_(condition, Event.id.in_(list(cursor.gaps)))
        query = (
            select(Event.id, Event.thread_id, Event.kind, Event.message_id)
            .where(condition)
            .order_by(Event.id)
            .limit(BATCH)
        )
        async with self._engine.connect() as conn:
            events = [LiveEvent(*row) for row in await conn.execute(query)]
        cursor.advance((event.id for event in events), time.monotonic())
        for event in events:
            for subscription in self._by_thread.get(event.thread_id or "", ()):
                subscription.offer(event)
        return len(events) == BATCH


def _reader(engine: AsyncEngine) -> AsyncEngine:
    # relay.db starts every SQLite transaction with BEGIN IMMEDIATE, which takes the write
    # lock: a poller on that engine would queue behind writers and block them five times a
    # second. A plain engine reads a WAL database without any lock.
    if not is_sqlite(str(engine.url)):
        return engine
    return create_async_engine(engine.url, connect_args={"timeout": 30})
