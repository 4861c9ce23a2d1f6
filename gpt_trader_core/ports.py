"""Ports: what the core needs from the outside world, as small documented Protocols.

Adapters (in the ``adapters`` package) implement them; the composition root picks which.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

import attrs

from gpt_trader_core.domain import auth
from gpt_trader_core.domain.records import (
    BacktestRecord,
    EquitySnapshot,
    Event,
    Execution,
    ExecutionStatus,
    ModelRecord,
    SessionRecord,
    SessionStatus,
    StudyRecord,
    TrialRecord,
)
from gpt_trader_core.domain.specs import FeedSpec
from gpt_trader_core.domain.trading import Account, Fill, Order, OrderState, Position

if TYPE_CHECKING:  # annotations only: bars imports numpy, which read-only commands never need
    from gpt_trader_core.domain.bars import Bars

T = TypeVar("T")
A = TypeVar("A")


@runtime_checkable
class MarketData(Protocol):
    """Historical OHLCV bars by symbol.

    Contract: ``history`` returns validated ``Bars`` with ``start <= timestamp <= end`` (either bound
    may be ``None`` for "from the first" / "to the last" available bar) at ``timeframe`` (``None``:
    the source's own timeframe — a file of hourly bars stays hourly unless asked); the same
    arguments give identical bars. It raises ``DataSourceError`` when the symbol or timeframe is not
    available and ``InvalidDataError`` when the stored data is broken. ``name`` identifies the source
    in cache keys and outputs (e.g. ``synthetic(seed=0)``).
    """

    @property
    def name(self) -> str: ...

    def symbols(self) -> list[str]:
        """Symbols this source can list (a generator of any symbol may return an example set)."""
        ...

    def history(
        self,
        symbol: str,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        timeframe: str | None = None,
    ) -> Bars: ...


class BacktestStore(Protocol):
    """Saved backtest results.

    Contract: ``save`` is atomic and durable once it returns (a crash afterwards loses nothing);
    saving an existing id replaces it. ``get`` raises ``NotFoundError`` for an unknown id. ``list``
    returns the newest first, optionally filtered, without trades (``trades == ()``).
    """

    async def save_backtest(self, record: BacktestRecord) -> None: ...

    async def get_backtest(self, record_id: str) -> BacktestRecord: ...

    async def list_backtests(
        self, *, strategy: str | None = None, symbol: str | None = None, limit: int = 50
    ) -> list[BacktestRecord]: ...

    async def delete_backtest(self, record_id: str) -> None: ...


class ExecutionStore(Protocol):
    """Executions of long jobs and their progress.

    Contract: ``add`` refuses an existing id with ``ConflictError``; ``update`` replaces the stored
    execution with the given one (same id, ``NotFoundError`` if unknown); both are durable once they
    return. ``list`` returns the newest first, optionally filtered by kind and status.
    """

    async def add_execution(self, execution: Execution) -> None: ...

    async def update_execution(self, execution: Execution) -> None: ...

    async def get_execution(self, execution_id: str) -> Execution: ...

    async def list_executions(
        self, *, kind: str | None = None, status: ExecutionStatus | None = None, limit: int = 50
    ) -> list[Execution]: ...


class ModelStore(Protocol):
    """Trained models by name.

    Contract: ``save_model`` is durable once it returns and replaces a model of the same name;
    ``get_model`` raises ``NotFoundError`` for an unknown name; ``list_models`` returns the newest
    first, optionally only one ``kind``, with payloads included.
    """

    async def save_model(self, record: ModelRecord) -> None: ...

    async def get_model(self, name: str) -> ModelRecord: ...

    async def list_models(self, *, kind: str | None = None) -> list[ModelRecord]: ...


class StudyStore(Protocol):
    """Optimisation studies and their finished trials, for resuming interrupted searches.

    Contract: ``save_study`` inserts or replaces the study; ``add_trials`` stores trials atomically
    (all or none) and ignores a trial number already stored for that study (idempotent), durable once
    it returns; ``list_trials`` returns them by number; ``get_study`` raises ``NotFoundError``;
    ``list_studies`` returns the newest first.
    """

    async def save_study(self, study: StudyRecord) -> None: ...

    async def get_study(self, study_id: str) -> StudyRecord: ...

    async def list_studies(self, *, limit: int = 50) -> list[StudyRecord]: ...

    async def add_trials(self, study_id: str, trials: Sequence[TrialRecord]) -> None: ...

    async def list_trials(self, study_id: str) -> list[TrialRecord]: ...

    async def delete_study(self, study_id: str) -> None:
        """Remove the study and all its trials (durable once it returns); ``NotFoundError`` if unknown."""
        ...


@attrs.frozen
class OutboxEvent:
    """An event a trading session committed with its state, to be published on the bus afterwards.

    ``source`` names the engine run that wrote it (``session:<id>:<run token>``) and ``number`` counts
    that run's events from 1, in the order they must be published: ``(source, number)`` is the
    event's identity, so a relay that publishes it again (after its writer died between publishing
    and recording that it had) is recognised by the bus and not delivered twice (``EventBus.publish``'s
    ``origin``)."""

    source: str
    number: int
    topic: str
    type: str
    data: Mapping[str, Any]

    @property
    def event_id(self) -> str:
        return f"{self.source}#{self.number}"


class TradingStore(Protocol):
    """Trading sessions, their orders, fills, positions and equity.

    Contract: ``commit_bar`` writes everything one bar produced — the session record (with its new
    ``last_bar``), order states (upsert by client order id), fills (ignored when their ``fill_id`` is
    already stored), the current positions (replacing the session's previous ones) and the equity
    snapshot — in ONE transaction, durable once it returns: after a crash either all of a bar is
    stored or none of it. Fencing: when a stored session's ``owner`` differs from ``session.owner``
    (another process took it over, or it was stopped and released elsewhere) ``commit_bar`` raises
    ``SessionNotHeldError`` and stores nothing. ``swap_session`` saves a session only while the stored
    one still has ``expected``'s owner and last bar (a compare-and-set: how a process takes a session
    over, or stores its end, without overwriting a newer bar or another owner's claim) and says whether
    it did. The outbox (why no event is lost between a commit and its publication): ``commit_bar``
    stores the bar's ``events`` in the same transaction, after the session's earlier pending ones, and
    deletes the ones ``sent`` says were published (source → highest number published: that source's
    events numbered up to it); ``pending_events`` gives the session's stored events, in commit order;
    ``mark_sent`` deletes published ones outside a bar (a session's end). ``swap_session`` stores its
    ``events`` and deletes the ``sent`` ones in its transaction too, when it saves (the session's start
    and end events: as durable as the state they announce). ``ended_with_pending`` names sessions not
    stored as running whose outbox still holds events (their holder ended them but died, or the bus
    was down, before publishing; nobody resumes them, so whoever finds them publishes them), at most
    ``limit``, by id. ``save_session`` upserts a session alone (start, stop). ``get_session``
    raises ``NotFoundError``. Lists are ordered: sessions newest first, orders by creation, fills and
    equity by bar.
    """

    async def save_session(self, session: SessionRecord) -> None: ...

    async def get_session(self, session_id: str) -> SessionRecord: ...

    async def list_sessions(self, *, status: SessionStatus | None = None, limit: int = 50) -> list[SessionRecord]: ...

    async def swap_session(
        self,
        session: SessionRecord,
        expected: SessionRecord,
        events: Sequence[OutboxEvent] = (),
        sent: Mapping[str, int] | None = None,
    ) -> bool: ...

    async def commit_bar(
        self,
        session: SessionRecord,
        orders: Sequence[OrderState],
        fills: Sequence[Fill],
        positions: Sequence[Position],
        equity: EquitySnapshot,
        events: Sequence[OutboxEvent] = (),
        sent: Mapping[str, int] | None = None,
    ) -> None: ...

    async def pending_events(self, session_id: str) -> list[OutboxEvent]: ...

    async def mark_sent(self, session_id: str, sent: Mapping[str, int]) -> None: ...

    async def ended_with_pending(self, *, limit: int = 100) -> list[str]: ...

    async def list_orders(self, session_id: str) -> list[OrderState]: ...

    async def list_fills(self, session_id: str) -> list[Fill]: ...

    async def list_positions(self, session_id: str) -> list[Position]: ...

    async def list_equity(self, session_id: str) -> list[EquitySnapshot]: ...


class OwnerStore(Protocol):
    """Who started what: the subject (user name or API key id) that started the work behind a bus topic
    (``session:<id>``, ``execution:<id>``), so streams show a non-admin only their own.

    Contract: ``set_owner`` records the first owner of ``resource`` (a second call keeps the first);
    ``get_owner`` returns it, or None when none was recorded (started with auth off, or before owners
    were recorded).
    """

    async def set_owner(self, resource: str, subject: str) -> None: ...

    async def get_owner(self, resource: str) -> str | None: ...


class StateStore(BacktestStore, ExecutionStore, ModelStore, StudyStore, TradingStore, OwnerStore, Protocol):
    """Everything the application persists, behind one lifecycle (``open``/``close``) and a health probe."""

    async def open(self) -> None:
        """Connect and bring the schema up to date (idempotent)."""
        ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise if the store cannot serve requests (used by readiness checks)."""
        ...


@attrs.frozen
class CacheStats:
    """Counters since start (or since ``clear``) and the number of live entries per kind."""

    backend: str
    hits: int
    misses: int
    sets: int
    entries: Mapping[str, int]

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class Cache(Protocol):
    """A key-value cache with a time-to-live per kind of value ("market_data", "backtest", ...).

    Contract: ``get`` returns ``None`` on a miss or an expired entry; ``set`` stores any picklable
    value for ``ttl`` seconds (default: the kind's TTL); ``clear`` drops every entry of one kind, or
    of all kinds, and returns how many were dropped; ``stats`` counts hits, misses and sets.
    A cache failure must never fail the caller's work: adapters log and behave as a miss (``ping`` is
    the one method that raises: it exists to tell).
    """

    async def get(self, kind: str, key: str) -> Any | None: ...

    async def set(self, kind: str, key: str, value: Any, ttl: float | None = None) -> None: ...

    async def clear(self, kind: str | None = None) -> int: ...

    async def stats(self) -> CacheStats: ...

    async def ping(self) -> None:
        """Raise if the cache cannot serve requests (readiness checks); an in-process cache always can."""
        ...

    async def close(self) -> None: ...


class Executor(Protocol):
    """Runs CPU-bound functions away from the caller's event loop.

    Contract: ``run(fn, *args)`` returns ``fn(*args)`` (re-raising its exception); ``map`` returns
    results in input order. ``fn`` and its arguments must be picklable for out-of-process
    executors (module-level functions, attrs values, numpy arrays). ``workers`` is the parallelism.
    """

    @property
    def workers(self) -> int: ...

    async def run(self, fn: Callable[..., T], /, *args: Any) -> T: ...

    async def map(self, fn: Callable[[A], T], items: Sequence[A]) -> list[T]: ...

    async def close(self) -> None: ...


class Subscription(Protocol):
    """An async iterator of events; ``close`` ends it. A slow consumer loses the oldest events rather
    than blocking publishers (``dropped`` counts them)."""

    dropped: int

    def __aiter__(self) -> Subscription: ...

    async def __anext__(self) -> Event: ...

    async def get(self, timeout: float | None = None) -> Event | None:
        """The next event, or None after ``timeout`` seconds."""
        ...

    async def close(self) -> None: ...


class EventBus(Protocol):
    """Publish/subscribe of domain events.

    Contract: ``publish`` stamps the event with the next sequence number of its topic and delivers it
    to every subscription whose pattern matches (``*`` matches everything, ``session:*`` every topic
    starting with ``session:``, otherwise an exact topic), in publish order per topic; it never blocks
    on slow subscribers. ``subscribe`` receives events published after it was created.
    ``origin=(source, number)`` makes a publish idempotent for a source that publishes its events in
    increasing ``number`` order (an outbox relay): an event whose number is at or below the highest
    one published for that source is neither delivered nor numbered again, and comes back with
    ``seq == 0``.
    """

    async def publish(
        self, topic: str, type: str, data: Mapping[str, Any], *, origin: tuple[str, int] | None = None
    ) -> Event: ...

    def subscribe(self, pattern: str = "*", *, max_queue: int = 1000) -> Subscription: ...

    async def close(self) -> None: ...


class StreamLog(Protocol):
    """The stream channels' numbering and history, shared by every server process on one bus.

    Contract: the bus numbers each channel's messages once, when an event is published (its
    ``Event.channels``), so every process sees the same ``seq``. ``channel_history(channel, after_seq,
    limit)`` gives the events of ``channel`` numbered above ``after_seq`` that are still kept (bounded),
    oldest first, at most ``limit``; ``channel_seq(channel)`` the newest number (0: none yet). Both raise a
    ``GptTraderError`` naming the cause when the shared store is unreachable; ``error`` says why it is
    degraded (None: healthy).
    """

    @property
    def error(self) -> str | None: ...

    async def channel_history(self, channel: str, after_seq: int, limit: int) -> list[Event]: ...

    async def channel_seq(self, channel: str) -> int: ...


class Claims(Protocol):
    """Leases that make one process of several do a job (e.g. pump a live feed for one symbol).

    Contract: ``claim(name, holder, ttl)`` takes the lease ``name`` for ``holder`` if nobody holds it,
    or renews it if ``holder`` does, for ``ttl`` seconds; True when ``holder`` holds it afterwards.
    ``release`` gives it up (only if ``holder`` holds it). ``agree(name, value, ttl)`` stores ``value``
    unless a value is stored already, and returns the stored one (every process agrees on it).
    """

    async def claim(self, name: str, holder: str, ttl: float) -> bool: ...

    async def release(self, name: str, holder: str) -> None: ...

    async def agree(self, name: str, value: str, ttl: float) -> str: ...


@attrs.frozen
class BarEvent:
    """One new bar of one symbol from a market feed; ``index`` counts the feed's bars from 0."""

    symbol: str
    index: int
    time: dt.datetime
    open: float
    high: float
    low: float
    close: float
    volume: float


class MarketFeed(Protocol):
    """A stream of new bars.

    Contract: ``history(symbol)`` gives the bars before the first streamed one (for warming up
    indicators; may be None); ``stream(symbols, start_index)`` yields, per time step, the bars of the
    symbols (one ``BarEvent`` each, same ``index``), in time order, starting at step ``start_index``
    (to resume after a restart; earlier steps are yielded immediately so history can be rebuilt),
    and ends when the feed ends (a replay) or never (a live feed). Same arguments, same bars.
    """

    @property
    def name(self) -> str: ...

    def history(self, symbol: str) -> Bars | None: ...

    def stream(self, symbols: Sequence[str], start_index: int = 0) -> AsyncIterator[Sequence[BarEvent]]: ...


class Broker(Protocol):
    """Where orders go: a simulated broker, later a real one.

    Contract: ``submit`` is idempotent by ``client_order_id`` (a second submit of the same id returns
    the existing order's state, never a second order); it returns ``ACCEPTED`` or ``REJECTED`` with a
    reason. ``sync(bar)`` brings the broker up to a market-data moment and returns the order states
    that changed and the fills that happened since the previous call (a simulated broker fills at the
    bar; a live one reports what the exchange did). ``reconcile`` loads orders and fills known from
    the state store at start-up so the broker's view and ours agree. Fills may be partial.
    """

    @property
    def name(self) -> str: ...

    async def submit(self, order: Order) -> OrderState: ...

    async def cancel(self, client_order_id: str) -> OrderState: ...

    async def get_order(self, client_order_id: str) -> OrderState: ...

    async def open_orders(self) -> list[OrderState]: ...

    async def account(self) -> Account: ...

    async def sync(self, bar: BarEvent) -> tuple[list[OrderState], list[Fill]]: ...

    async def reconcile(self, orders: Sequence[OrderState], fills: Sequence[Fill]) -> None: ...


class FeedFactory(Protocol):
    """Opens the market feed a trading session reads, from its stored ``FeedSpec``.

    Contract: ``pin(spec, symbols, require)`` returns the spec with everything that decides its bars
    made explicit — a replay's data source (the configured one when the spec has none), its range and
    each symbol's data fingerprint — or raises ``DataSourceError``/``InvalidDataError`` when the data
    cannot be loaded; ``require`` (the strategy's ``require_bars``) sees each symbol's replayed bars
    and raises when they are too few, as a backtest on the same data would. ``factory(session)``
    returns a ``MarketFeed`` for the session's symbols on exactly the data its pinned spec names, so
    a resumed session sees the bars it saw before, or raises: ``DataSourceError`` when they changed
    or are gone, ``ConflictError`` when the session does not say which data they were.
    """

    def pin(
        self, spec: FeedSpec, symbols: Sequence[str], require: Callable[[Bars], None] | None = None
    ) -> FeedSpec: ...

    def __call__(self, session: SessionRecord, /) -> MarketFeed: ...


class BrokerFactory(Protocol):
    """Gives a trading session its broker.

    Contract: ``factory(session)`` returns a new ``Broker`` for the session (its capital and fill model
    come from the record); orders and fills already stored are loaded by ``Broker.reconcile``, not here.
    """

    def __call__(self, session: SessionRecord, /) -> Broker: ...


@runtime_checkable
class SystemProbe(Protocol):
    """Machine and process utilisation.

    Contract: percentages are in [0, 100]; ``cpu_percent`` is the whole machine's utilisation since
    the previous call (the first call measures over a short interval, awaiting rather than blocking);
    ``memory_percent`` is the share of memory not available to new work; ``disk_percent`` the used
    share of the file system holding the data directory; ``process_rss_mb`` this process's resident
    memory in MiB. A value the platform cannot give is ``None``; a probe never raises for that.
    """

    async def cpu_percent(self) -> float | None: ...

    async def memory_percent(self) -> float | None: ...

    async def disk_percent(self) -> float | None: ...

    async def process_rss_mb(self) -> float | None: ...


class HealthProbe(Protocol):
    """Whether one component can serve requests now (``StateStore.ping``, ``Cache.ping`` ...).

    Contract: ``await probe()`` returns (any value) when the component can serve and raises when it
    cannot; the caller bounds the wait with its own timeout, so a probe may simply hang when the
    component does.
    """

    def __call__(self) -> Awaitable[object]: ...


# -- trading sessions: who runs them (defects: issue 11.2) ----------------------------------------


#: Answers a command for a session this process runs: (session id, command, args) → answer.
SessionCommandHandler = Callable[[str, str, Mapping[str, Any]], Awaitable[Mapping[str, Any]]]


class SessionLeases(Protocol):
    """Who runs a trading session: exactly one process (server worker) at a time holds its lease.

    Contract: ``me`` names this process. ``acquire(session_id)`` takes the session's lease and returns
    the owner name to store on the session (``SessionRecord.owner``; unique to this claim, so it also
    fences: ``TradingStore.commit_bar`` refuses a bar from any other owner), or ``None`` while another
    live holder has it. ``renew`` keeps a held lease (False once it is lost); ``release`` gives it up.
    ``holds(session_id, owner)`` is False only when ``owner`` is known not to hold the session any more
    (its process died, its lease expired), so a session is never recovered twice. ``shared`` is True
    when other processes see these leases (several workers: recovery then runs continuously, every
    ``scan_interval`` seconds; renewal every ``renew_interval`` seconds).

    ``holding(owners)`` answers ``holds`` for many sessions at once (session id → stored owner; one
    round trip): the ids whose owner still holds them.

    Reaching a session's holder (several workers: a command only the process running the session can
    answer, such as its latest prices or a rebalance of its positions): ``serve(handler)`` answers,
    until cancelled, the commands sent to this process by calling ``handler(session_id, command,
    args)`` (JSON-like mappings in and out; a ``GptTraderError`` it raises goes back to the asker as the
    same kind of error). ``ask(owner, session_id, command, args, timeout)`` sends one to the process
    that holds ``owner`` and returns its answer; it raises ``ConflictError`` when no answer came within
    ``timeout`` seconds (or, not shared, when that process cannot be reached from here).
    """

    @property
    def me(self) -> str: ...

    @property
    def shared(self) -> bool: ...

    @property
    def renew_interval(self) -> float: ...

    @property
    def scan_interval(self) -> float: ...

    async def acquire(self, session_id: str) -> str | None: ...

    async def renew(self, session_id: str, owner: str) -> bool: ...

    async def release(self, session_id: str, owner: str) -> None: ...

    async def holds(self, session_id: str, owner: str | None) -> bool: ...

    async def holding(self, owners: Mapping[str, str | None]) -> set[str]: ...

    async def serve(self, handler: SessionCommandHandler) -> None: ...

    async def ask(
        self, owner: str, session_id: str, command: str, args: Mapping[str, Any], timeout: float
    ) -> Mapping[str, Any]: ...


# -- authentication (issue 13) -------------------------------------------------------------------------


class LoginLockouts(Protocol):
    """Failed logins per key (``user:NAME``, ``ip:ADDRESS``), as far as the processes that share it see.

    Contract: ``check`` raises ``LockedOutError`` (with ``retry_after``) while any key is locked;
    ``failed`` counts one failure on each key and returns (seconds to wait before answering, whether a
    lock just started) — ``policy.max_failures`` failures within ``policy.failure_window`` lock a key
    for ``policy.lockout``; ``succeeded`` forgets the keys' failures. ``stand_in_hash`` keeps the hash
    unknown user names are verified against (made once per process).
    """

    stand_in_hash: str | None

    async def check(self, *keys: str) -> None: ...

    async def failed(self, *keys: str) -> tuple[float, bool]: ...

    async def succeeded(self, *keys: str) -> None: ...


class UserStore(Protocol):
    """Users who log in. ``add_user`` raises ``UserExistsError`` for a taken name; ``get_user``,
    ``update_user`` and ``delete_user`` raise ``NotFoundError`` for an unknown one. Names are case-sensitive."""

    async def add_user(self, user: auth.User) -> None: ...

    async def get_user(self, username: str) -> auth.User: ...

    async def list_users(self) -> list[auth.User]: ...

    async def update_user(self, user: auth.User) -> None: ...

    async def delete_user(self, username: str) -> None: ...


class ApiKeyStore(Protocol):
    """API keys by id (the key's lookup prefix). ``get_api_key``/``revoke_api_key``/``touch_api_key``
    raise ``NotFoundError`` for an unknown id; revoking twice keeps the first time."""

    async def add_api_key(self, key: auth.ApiKey) -> None: ...

    async def get_api_key(self, key_id: str) -> auth.ApiKey: ...

    async def list_api_keys(self) -> list[auth.ApiKey]: ...

    async def revoke_api_key(self, key_id: str, at: dt.datetime) -> auth.ApiKey: ...

    async def touch_api_key(self, key_id: str, at: dt.datetime) -> None:
        """Record a use of the key (``last_used_at``)."""
        ...


class RefreshTokenStore(Protocol):
    """Issued refresh tokens grouped in families (one per login).

    ``use_refresh_token`` atomically marks the token used and returns it AS IT WAS before (so
    ``used_at`` is not ``None`` when it had been used already: a reuse), with its family's revocation
    time; of two concurrent uses exactly one sees ``used_at is None``. Unknown ``jti`` →
    ``NotFoundError``. Revoking a family twice keeps the first time.
    """

    async def add_refresh_token(self, token: auth.RefreshToken) -> None: ...

    async def use_refresh_token(self, jti: str, at: dt.datetime) -> auth.RefreshToken: ...

    async def revoke_family(self, family: str, at: dt.datetime) -> None: ...

    async def revoke_families_of(self, subject: str, at: dt.datetime) -> int:
        """End every family of ``subject``; returns how many were still active."""
        ...


class PasswordHasher(Protocol):
    """Slow, salted password hashing (Argon2id in production). Both calls may take tens of ms and run
    off the event loop; ``verify`` returns False for a wrong password or a malformed hash."""

    async def hash(self, password: str) -> str: ...

    async def verify(self, encoded: str, password: str) -> bool: ...


class TokenCodec(Protocol):
    """Signs and checks bearer tokens. ``decode`` checks signature, algorithm, key id, issuer,
    audience, every time claim and that the token's type is ``expected_type``; it raises
    ``AuthenticationError`` (one reason, nothing secret) for any token it refuses."""

    def encode(self, claims: auth.TokenClaims) -> str: ...

    def decode(self, token: str, expected_type: str) -> auth.TokenClaims: ...


class AuthStore(UserStore, ApiKeyStore, RefreshTokenStore, Protocol):
    """The three authentication stores in one (both state-store adapters implement it)."""
