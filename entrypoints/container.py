"""The composition root: the only place where adapters are chosen and wired to use cases.

``build_container(settings)`` gives every driver (CLI, HTTP, WebSocket, ``gt.App``) the same graph.
Adapters with a lifecycle are async ``Resource``s: ``await container.init_resources()`` on start,
``await container.shutdown_resources()`` on stop. Tests swap whole adapter sets with
``container.adapters.override(InMemoryAdapters(...))``.

Typed for the drivers: ``await container.services.backtester()`` is a ``Backtester`` to mypy. A provider
that depends on an async resource (state store, cache, executor) returns an awaitable of its value;
``_awaitable`` says so to the type checker (it changes nothing at run time).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:  # the use cases are imported by their builders below, on first use (keeps the CLI quick)
    from adapters.bus.redis import RedisEventBus
    from entrypoints.settings import Settings
    from entrypoints.settings.schema import AuthSettings
    from gpt_trader_core.backtesting.config import BacktestConfig
    from gpt_trader_core.domain.auth import AuthPolicy
    from gpt_trader_core.ml.service import StrategySelection
    from gpt_trader_core.monitor import SystemProbe, Telemetry
    from gpt_trader_core.ports import (
        AuthStore,
        BrokerFactory,
        Cache,
        EventBus,
        Executor,
        FeedFactory,
        LoginLockouts,
        MarketData,
        PasswordHasher,
        SessionLeases,
        StateStore,
        TokenCodec,
    )
    from gpt_trader_core.services.auth import Authentication
    from gpt_trader_core.services.backtest import Backtester, MarketHistory
    from gpt_trader_core.services.health import HealthCheck
    from gpt_trader_core.services.intelligence import MarketIntelligence
    from gpt_trader_core.services.monitoring import Monitoring
    from gpt_trader_core.services.optimization import Optimizer
    from gpt_trader_core.services.results import BacktestResults
    from gpt_trader_core.services.session_reads import ReportedSessionReads, SessionReads, SessionReporter
    from gpt_trader_core.services.sessions import TradingSessions
    from gpt_trader_core.services.streams import StreamHub
    from gpt_trader_core.strategy.registry import StrategyRegistry
    from gpt_trader_core.workflows.reads import WorkflowExecutions
    from gpt_trader_core.workflows.use_case import Workflows  # imported on first use (see ``_workflows``)


def _import_dependency_injector() -> tuple[Any, Any]:
    """``dependency_injector`` without the frameworks it imports only for features we do not use: at import
    it loads ``pydantic_settings`` (else ``pydantic``, to read its version) for ``Configuration.from_pydantic``,
    ``yaml`` for ``Configuration.from_yaml``, and its wiring module FastAPI, Starlette and Werkzeug for
    ``@inject`` wiring — 100-300 ms of every CLI command when they are installed. During that one import
    (and only if nobody imported them yet) they are absent (``pydantic`` a stand-in naming a version 2,
    which the library then ignores); they are removed right after, so anything that uses them later
    (sanic-ext in the server, the settings loader reading a YAML file) imports the real ones."""
    import types

    stand_ins: dict[str, Any] = {"pydantic_settings": None, "pydantic": types.ModuleType("pydantic")}
    stand_ins.update(dict.fromkeys(("fastapi", "fast_depends", "starlette", "werkzeug", "yaml")))
    stand_ins["pydantic"].VERSION = "2 (not imported by gpt-trader's composition root)"
    hidden = [name for name in stand_ins if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = stand_ins[name]
    try:
        from dependency_injector import containers, providers
    finally:
        for name in hidden:
            del sys.modules[name]
    return containers, providers


if TYPE_CHECKING:
    from dependency_injector import containers, providers
else:
    containers, providers = _import_dependency_injector()


T = TypeVar("T")


def _awaitable(provider: providers.Provider[T]) -> providers.Provider[Awaitable[T]]:
    """The same provider, typed as what it returns when it depends on an async resource: an awaitable."""
    return cast("providers.Provider[Awaitable[T]]", provider)


def _market_data(source: str, path: str | None, seed: int) -> MarketData:
    if source == "csv":
        from adapters.market_data.csv import CsvMarketData

        return CsvMarketData(Path(str(path)).expanduser())
    if source == "parquet":
        from adapters.market_data.parquet import ParquetMarketData

        return ParquetMarketData(Path(str(path)).expanduser())
    from adapters.market_data.synthetic import SyntheticMarketData

    return SyntheticMarketData(seed=seed)


async def _state_store(url: str) -> AsyncIterator[StateStore]:
    if url in ("memory://", "memory"):
        from adapters.state.memory import InMemoryStateStore

        store: StateStore = InMemoryStateStore()
    elif url.startswith(("postgresql://", "postgres://")):
        from adapters.state.postgres import PostgresStateStore

        store = PostgresStateStore.from_url(url)
    else:
        from adapters.state.sqlite import SqliteStateStore

        store = SqliteStateStore.from_url(url)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def _cache(
    backend: str, redis_url: Any, ttl: dict[str, float], max_entries: int = 0, max_bytes: int = 0
) -> AsyncIterator[Cache]:
    from adapters.cache.aiocache_cache import AiocacheCache

    url = redis_url.get_secret_value() if hasattr(redis_url, "get_secret_value") else str(redis_url)
    default_ttl = float(ttl.get("default", 300.0))
    cache = AiocacheCache(
        backend,  # type: ignore[arg-type]
        redis_url=url,
        ttl=ttl,
        default_ttl=default_ttl,
        max_entries=max_entries,
        max_bytes=max_bytes,
    )
    try:
        yield cache
    finally:
        await cache.close()


async def _executor(kind: str, workers: int, scheduler_address: str | None) -> AsyncIterator[Executor]:
    if kind == "inline":
        from adapters.executor.local import InlineExecutor

        executor: Executor = InlineExecutor()
    elif kind == "dask":
        from adapters.executor.dask import DaskExecutor

        executor = DaskExecutor(scheduler_address, workers=workers or None)
    else:
        from adapters.executor.local import LocalProcessExecutor

        executor = LocalProcessExecutor(workers)
    try:
        yield executor
    finally:
        await executor.close()


def _event_bus(backend: str = "memory", redis_url: Any = None, namespace: str = "", maxlen: int = 10_000) -> EventBus:
    if backend == "redis":
        from adapters.bus.redis import RedisEventBus

        url = redis_url.get_secret_value() if hasattr(redis_url, "get_secret_value") else str(redis_url)
        from gpt_trader_core.services.channels import ChannelRegistry

        # The bus numbers stream channels at publish, so every server process gives clients the same seq.
        router = ChannelRegistry().channels_of
        return RedisEventBus(url, namespace=namespace, maxlen=maxlen, router=router, maxlen_channel=maxlen)
    from adapters.bus.memory import InMemoryEventBus

    return InMemoryEventBus()


async def _session_leases(backend: str, redis_url: Any) -> AsyncIterator[SessionLeases]:
    """Who runs each trading session: leases on the bus's Redis when the bus is shared (several
    workers or machines; ``adapters/leases/redis.py`` says why Redis), else this machine's processes."""
    if backend != "redis":
        from gpt_trader_core.services.leases import LocalLeases

        yield LocalLeases()
        return
    from adapters.leases.redis import RedisLeases

    leases = RedisLeases(redis_url.get_secret_value() if hasattr(redis_url, "get_secret_value") else str(redis_url))
    try:
        yield leases
    finally:
        await leases.close()


async def _work_claims(backend: str, redis_url: Any) -> AsyncIterator[Any]:
    """Claims shared by every worker (``adapters.leases.redis.RedisClaims``) when the bus is Redis; ``None``
    for one process, where the HTTP layer's in-process locks suffice."""
    if backend != "redis":
        yield None
        return
    from adapters.leases.redis import RedisClaims

    claims = RedisClaims(redis_url.get_secret_value() if hasattr(redis_url, "get_secret_value") else str(redis_url))
    try:
        yield claims
    finally:
        await claims.close()


def _bus_probes(backend: str, bus: EventBus) -> dict[str, Any]:
    """Health probes of the event bus: a Redis bus can be down (the memory bus cannot)."""
    ping = getattr(bus, "ping", None)
    return {"event_bus": ping} if backend == "redis" and ping is not None else {}


async def _event_bus_lifecycle(backend: str, bus: EventBus) -> AsyncIterator[None]:
    """Closes a Redis bus (its connections and reader task) at shutdown; the memory bus needs nothing."""
    yield None
    if backend == "redis":
        await bus.close()


def _stream_hub(
    bus: EventBus, backend: str, replay: int, live_feed: str, timeframe: str, interval: float, seed: int
) -> StreamHub:
    """The stream hub; on the Redis bus it takes the numbering and history from the bus (every
    process alike) and lets one process pump each live-feed symbol."""
    from gpt_trader_core.services.live_market import LiveMarket
    from gpt_trader_core.services.streams import StreamHub

    shared = cast("RedisEventBus", bus) if backend == "redis" else None
    market = None
    if live_feed == "synthetic":
        from adapters.feeds.synthetic import SyntheticLiveFeed

        def feed(origin: float) -> SyntheticLiveFeed:
            return SyntheticLiveFeed(
                seed=seed, timeframe=timeframe, interval=interval, history_bars=1, started_at=origin
            )

        market = LiveMarket(bus, feed, interval=interval, synthetic=True, claims=shared, quiet=max(5.0, 3 * interval))
    return StreamHub(bus, replay=replay, log=shared, market=market)


def _feed_factory(market_data: MarketData) -> FeedFactory:
    from adapters.feeds.factory import FeedFactory

    return FeedFactory(market_data)


def _broker_factory() -> BrokerFactory:
    from adapters.broker.factory import SimulatedBrokerFactory

    return SimulatedBrokerFactory()


def _system_probe(data_dir: str) -> SystemProbe:
    from adapters.monitor.system import PsutilSystemProbe

    return PsutilSystemProbe(Path(data_dir).expanduser())


# use cases, each imported by its builder on first use
def _registry() -> StrategyRegistry:
    from gpt_trader_core.strategy import REGISTRY

    return REGISTRY


def _history(**kw: Any) -> MarketHistory:
    from gpt_trader_core.services.backtest import MarketHistory

    return MarketHistory(**kw)


def _backtester(**kw: Any) -> Backtester:
    from gpt_trader_core.services.backtest import Backtester

    return Backtester(**kw)


def _results(**kw: Any) -> BacktestResults:
    from gpt_trader_core.services.results import BacktestResults

    return BacktestResults(**kw)


def _sessions(**kw: Any) -> TradingSessions:
    from gpt_trader_core.services.sessions import TradingSessions

    return TradingSessions(**kw)


def _strategy_selection(**kw: Any) -> StrategySelection:
    from gpt_trader_core.ml.service import StrategySelection

    return StrategySelection(**kw)


def _intelligence(**kw: Any) -> MarketIntelligence:
    from gpt_trader_core.services.intelligence import MarketIntelligence

    return MarketIntelligence(**kw)


def _optimizer(**kw: Any) -> Optimizer:
    from gpt_trader_core.services.optimization import Optimizer

    return Optimizer(**kw)


def _telemetry() -> Telemetry:
    from gpt_trader_core.monitor import Telemetry

    return Telemetry()


def _health(**kw: Any) -> HealthCheck:
    from gpt_trader_core.services.health import component_health

    return component_health(**kw)


def _monitoring(**kw: Any) -> Monitoring:
    from gpt_trader_core.services.monitoring import Monitoring

    return Monitoring(**kw)


# read-only use cases of the commands that only look (``status``, ``monitor``, ``workflow status``): the
# session reads import neither the trading engine nor numpy and the charts, the execution reads only the
# workflow engine (not the workflows and the use cases their steps call); neither starts an executor, a
# cache or market data
def _session_reads(**kw: Any) -> SessionReads:
    from gpt_trader_core.services.session_reads import SessionReads

    return SessionReads(**kw)


def _reported_session_reads(sessions: SessionReporter) -> ReportedSessionReads:
    from gpt_trader_core.services.session_reads import ReportedSessionReads

    return ReportedSessionReads(sessions)


def _workflow_executions(store: StateStore, bus: EventBus) -> WorkflowExecutions:
    from gpt_trader_core.workflows.engine import WorkflowEngine
    from gpt_trader_core.workflows.reads import WorkflowExecutions

    return WorkflowExecutions(WorkflowEngine(store, bus))


def backtest_defaults(settings: Settings) -> BacktestConfig:
    """The settings' backtest costs (``backtest.cash``, ``.commission``, ``.slippage``, ``.spread``) as the one
    ``BacktestConfig`` every driver starts from: commands override fields with their options, workflows
    take it as their cost inputs' defaults. Provided as ``services.backtest_defaults``."""
    from gpt_trader_core.backtesting.config import BacktestConfig

    backtest = settings.backtest
    return BacktestConfig(
        cash=backtest.cash, commission=backtest.commission, slippage=backtest.slippage, spread=backtest.spread
    )


def _workflows(
    store: StateStore,
    bus: EventBus,
    sessions: TradingSessions,
    monitoring: Monitoring,
    backtester: Backtester,
    history: MarketHistory,
    optimizer: Optimizer,
    executor: Executor,
    registry: StrategyRegistry,
    selection: StrategySelection,
    defaults: BacktestConfig,
) -> Workflows:
    """The workflow use case on its own engine (imported on first use: it loads the analysis slices),
    with the trading and monitoring workflows added to the built-ins."""
    from gpt_trader_core.workflows.common import WorkflowServices
    from gpt_trader_core.workflows.engine import WorkflowEngine
    from gpt_trader_core.workflows.monitoring import real_time_monitoring
    from gpt_trader_core.workflows.trading import adaptive_strategy_selection, risk_managed_live_trading
    from gpt_trader_core.workflows.use_case import Workflows

    shared = WorkflowServices(backtester, history, optimizer, executor, registry, selection, defaults)
    extra = (
        risk_managed_live_trading(shared, sessions),
        adaptive_strategy_selection(shared, sessions),
        real_time_monitoring(monitoring),
    )
    return Workflows(WorkflowEngine(store, bus, owners=store), shared, extra=extra)


# rest: builders of the REST API's use cases (imported on first use)
def _jobs(**kw: Any) -> Any:
    from gpt_trader_core.services.jobs import Jobs

    return Jobs(**kw)


def _catalog(**kw: Any) -> Any:
    from gpt_trader_core.services.catalog import StrategyCatalog

    return StrategyCatalog(**kw)


def _backtest_jobs(**kw: Any) -> Any:
    from gpt_trader_core.services.research import BacktestJobs

    return BacktestJobs(**kw)


def _optimization_jobs(**kw: Any) -> Any:
    from entrypoints.presenters import plain
    from entrypoints.presenters.backtests import optimization_summary
    from gpt_trader_core.services.research import OptimizationJobs

    return OptimizationJobs(**kw, summarise=lambda result: plain(optimization_summary(result, 50, heatmap=True)))


def _performance(**kw: Any) -> Any:
    from gpt_trader_core.services.research import StrategyPerformance

    return StrategyPerformance(**kw)


def _portfolio(**kw: Any) -> Any:
    from gpt_trader_core.services.portfolio_view import PortfolioView

    return PortfolioView(**kw)


def _market_reads(**kw: Any) -> Any:
    from gpt_trader_core.services.market_reads import MarketReads

    return MarketReads(**kw)


def _same(value: T) -> T:
    return value


def _password_hasher() -> PasswordHasher:
    from adapters.security import Argon2Hasher

    return Argon2Hasher()


def _token_codec(auth: AuthSettings, data_dir: str) -> TokenCodec:
    """Signs with ``api.auth.jwt_secret``, or with a secret generated once into ``<data_dir>/jwt_secret``
    (0600); ``api.auth.previous_jwt_secret`` still verifies during a rotation."""
    from adapters.security import JwtTokenCodec, SigningKey, load_or_create_secret

    secret = auth.jwt_secret.get_secret_value() or load_or_create_secret(Path(data_dir).expanduser() / "jwt_secret")
    keys = [SigningKey(secret)]
    previous = auth.previous_jwt_secret.get_secret_value()
    if previous:
        keys.append(SigningKey(previous))
    return JwtTokenCodec(keys, algorithm=auth.jwt_algorithm)


def _auth_policy(auth: AuthSettings) -> AuthPolicy:
    from gpt_trader_core.domain.auth import AuthPolicy

    return AuthPolicy(
        access_ttl=auth.access_token_ttl,
        refresh_ttl=auth.refresh_token_ttl,
        max_failures=auth.max_failed_logins,
        failure_window=auth.failed_login_window,
        lockout=auth.lockout_seconds,
        record_cache_ttl=auth.record_cache_ttl,
    )


def _login_throttle(policy: AuthPolicy, backend: str = "memory", redis_url: Any = None) -> LoginLockouts:
    """Failed logins counted in this process, or on the bus's Redis when workers share it (scale-out)."""
    if backend != "redis":
        from gpt_trader_core.services.auth import LoginThrottle

        return LoginThrottle(policy)
    from adapters.security.redis_lockouts import RedisLoginLockouts

    url = redis_url.get_secret_value() if hasattr(redis_url, "get_secret_value") else str(redis_url)
    return RedisLoginLockouts(policy, url)


def _authentication(
    store: AuthStore,
    hasher: PasswordHasher,
    codec: TokenCodec,
    bus: EventBus,
    policy: AuthPolicy,
    throttle: LoginLockouts,
) -> Authentication:
    from gpt_trader_core.services.auth import Authentication

    return Authentication(store, store, store, hasher, codec, bus, policy=policy, throttle=throttle)


class Adapters(containers.DeclarativeContainer):
    """The production adapter set, chosen from settings."""

    settings: providers.Dependency[Settings] = providers.Dependency()

    market_data: providers.Provider[MarketData] = providers.Singleton(
        _market_data,
        source=settings.provided.market_data.source,
        path=settings.provided.market_data.path,
        seed=settings.provided.market_data.seed,
    )
    state_store = _awaitable(providers.Resource(_state_store, url=settings.provided.state.url))
    cache = _awaitable(
        providers.Resource(
            _cache,
            backend=settings.provided.cache.backend,
            redis_url=settings.provided.cache.redis_url,
            ttl=settings.provided.cache.ttl,
            max_entries=settings.provided.cache.max_entries,
            max_bytes=settings.provided.cache.max_bytes,
        )
    )
    event_bus: providers.Provider[EventBus] = providers.Singleton(
        _event_bus,
        backend=settings.provided.bus.backend,
        redis_url=settings.provided.bus.redis_url,
        namespace=settings.provided.bus.namespace,
        maxlen=settings.provided.bus.maxlen,
    )
    event_bus_lifecycle = providers.Resource(_event_bus_lifecycle, backend=settings.provided.bus.backend, bus=event_bus)
    work_claims = providers.Resource(
        _work_claims, backend=settings.provided.bus.backend, redis_url=settings.provided.bus.redis_url
    )
    session_leases = _awaitable(
        providers.Resource(
            _session_leases, backend=settings.provided.bus.backend, redis_url=settings.provided.bus.redis_url
        )
    )
    feeds: providers.Provider[FeedFactory] = providers.Singleton(_feed_factory, market_data=market_data)
    brokers: providers.Provider[BrokerFactory] = providers.Singleton(_broker_factory)
    executor = _awaitable(
        providers.Resource(
            _executor,
            kind=settings.provided.executor.kind,
            workers=settings.provided.executor.workers,
            scheduler_address=settings.provided.executor.scheduler_address,
        )
    )
    # monitoring: machine and process utilisation (psutil)
    system_probe: providers.Provider[SystemProbe] = providers.Singleton(
        _system_probe, data_dir=settings.provided.system.data_dir
    )
    # auth: Argon2id password hashing and the JWT codec (secret from settings or the 0600 file)
    password_hasher: providers.Provider[PasswordHasher] = providers.Singleton(_password_hasher)
    token_codec: providers.Provider[TokenCodec] = providers.Singleton(
        _token_codec, auth=settings.provided.api.auth, data_dir=settings.provided.system.data_dir
    )


class Services(containers.DeclarativeContainer):
    """Use cases, built from whatever adapter set is plugged in."""

    adapters = providers.DependenciesContainer()
    settings: providers.Dependency[Settings] = providers.Dependency()

    registry: providers.Provider[StrategyRegistry] = providers.Singleton(_registry)
    backtest_defaults: providers.Provider[BacktestConfig] = providers.Singleton(backtest_defaults, settings=settings)
    history = _awaitable(providers.Factory(_history, market_data=adapters.market_data, cache=adapters.cache))
    backtester = _awaitable(
        providers.Factory(
            _backtester,
            history=history,
            registry=registry,
            executor=adapters.executor,
            cache=adapters.cache,
            store=adapters.state_store,
        )
    )
    results = _awaitable(providers.Factory(_results, store=adapters.state_store))
    sessions = _awaitable(
        providers.Singleton(
            _sessions,
            store=adapters.state_store,
            bus=adapters.event_bus,
            registry=registry,
            feeds=adapters.feeds,
            brokers=adapters.brokers,
            leases=adapters.session_leases,
        )
    )
    # model training and market intelligence: drivers arrive with the REST API (issue 12) and the CLI (15)
    strategy_selection = _awaitable(
        providers.Factory(
            _strategy_selection, model_store=adapters.state_store, executor=adapters.executor, registry=registry
        )
    )
    intelligence = _awaitable(
        providers.Factory(
            _intelligence,
            history=history,
            executor=adapters.executor,
            selection=strategy_selection,
            registry=registry,
        )
    )
    optimizer = _awaitable(
        providers.Factory(
            _optimizer, history=history, registry=registry, executor=adapters.executor, studies=adapters.state_store
        )
    )
    # monitoring: one Telemetry per process (the HTTP middleware records into it); Monitoring reads it,
    # probes the components, evaluates alert rules and publishes on the bus
    telemetry: providers.Provider[Telemetry] = providers.Singleton(_telemetry)
    # health: the one place components become probes; the server adds its sessions
    # (``services.health(sessions=...)``), the monitoring snapshots use the same probes
    health = _awaitable(
        providers.Factory(
            _health,
            state_store=adapters.state_store,
            cache=adapters.cache,
            executor=adapters.executor,
            extra=providers.Callable(_bus_probes, backend=settings.provided.bus.backend, bus=adapters.event_bus),
        )
    )
    monitoring = _awaitable(
        providers.Singleton(
            _monitoring,
            telemetry=telemetry,
            probe=adapters.system_probe,
            health=health,
            executions=adapters.state_store,
            bus=adapters.event_bus,
        )
    )

    # what the read-only commands use (see ``_session_reads``): sessions and executions as the use cases
    # above show them, read from the same store
    session_reads = _awaitable(
        providers.Factory(_session_reads, store=adapters.state_store, leases=adapters.session_leases)
    )
    workflow_executions = _awaitable(
        providers.Factory(_workflow_executions, store=adapters.state_store, bus=adapters.event_bus)
    )

    # workflows: one engine per container (it owns the executions this process runs)
    workflows = _awaitable(
        providers.Singleton(
            _workflows,
            store=adapters.state_store,
            bus=adapters.event_bus,
            sessions=sessions,
            monitoring=monitoring,
            backtester=backtester,
            history=history,
            optimizer=optimizer,
            executor=adapters.executor,
            registry=registry,
            selection=strategy_selection,
            defaults=backtest_defaults,
        )
    )

    # streaming (issue 14): one hub per process numbers channel messages, keeps replay buffers and
    # fans out to the WebSocket connections of every app of this process
    streams: providers.Provider[StreamHub] = providers.Singleton(
        _stream_hub,
        bus=adapters.event_bus,
        backend=settings.provided.bus.backend,
        replay=settings.provided.websocket.replay_buffer,
        live_feed=settings.provided.websocket.live_feed,
        timeframe=settings.provided.websocket.live_timeframe,
        interval=settings.provided.websocket.live_interval,
        seed=settings.provided.market_data.seed,
    )
    # rest: the REST API's use cases (background jobs, catalogue, track record, portfolio, cached reads)
    jobs = providers.Singleton(_jobs, store=adapters.state_store, bus=adapters.event_bus)
    catalog = providers.Factory(_catalog, registry=registry, cache=adapters.cache)
    backtest_jobs = providers.Factory(
        _backtest_jobs, backtester=backtester, history=history, registry=registry, jobs=jobs
    )
    optimization_jobs = providers.Factory(_optimization_jobs, optimizer=optimizer, registry=registry, jobs=jobs)
    performance = providers.Factory(
        _performance, registry=registry, backtests=adapters.state_store, trading=adapters.state_store
    )
    portfolio = providers.Factory(_portfolio, store=adapters.state_store, sessions=sessions)
    market = providers.Factory(_market_reads, history=history, executor=adapters.executor, cache=adapters.cache)
    # the cache's statistics and clearing (``gpt-trader cache``): here the cache itself, remotely the server's
    cache_admin = _awaitable(providers.Factory(_same, adapters.cache))
    # auth: one use case per container; the login throttle (this process's failed logins) outlives it,
    # since the use case is rebuilt when the app restarts its resources
    auth_policy: providers.Provider[AuthPolicy] = providers.Singleton(_auth_policy, auth=settings.provided.api.auth)
    login_throttle: providers.Provider[LoginLockouts] = providers.Singleton(
        _login_throttle,
        policy=auth_policy,
        backend=settings.provided.bus.backend,
        redis_url=settings.provided.bus.redis_url,
    )
    auth: providers.Provider[Authentication] = providers.Singleton(
        _authentication,
        store=adapters.state_store,
        hasher=adapters.password_hasher,
        codec=adapters.token_codec,
        bus=adapters.event_bus,
        policy=auth_policy,
        throttle=login_throttle,
    )


class Container(containers.DeclarativeContainer):
    """The application graph: ``adapters`` (chosen from settings) and the ``services`` (use cases) on them."""

    settings: providers.Dependency[Settings] = providers.Dependency()
    if TYPE_CHECKING:  # what drivers reach through the sub-container providers
        adapters: Adapters
        services: Services
    else:
        adapters = providers.Container(Adapters, settings=settings)
        services = providers.Container(Services, adapters=adapters, settings=settings)


# remote: the same use cases answered by a running server (``gpt-trader --remote URL``)
def _remote_client(url: str) -> Iterator[Any]:
    """One client (one keep-alive connection) per command; credentials from ``GPT_TRADER_API_KEY`` or the
    login ``gpt-trader login URL`` stored."""
    from adapters.remote import CredentialsFile, RemoteClient

    client = RemoteClient(url, credentials=CredentialsFile())
    try:
        yield client
    finally:
        client.close()


async def _remote(name: str, **kw: Any) -> Any:
    """A remote use case (``Class`` of ``adapters.remote.services``, or ``module.Class`` of another module of
    ``adapters.remote``), awaited like the local one it stands for (those depend on async resources)."""
    import importlib

    module, _, cls = name.rpartition(".")
    return getattr(importlib.import_module(f"adapters.remote.{module or 'services'}"), cls)(**kw)


class RemoteServices(containers.DeclarativeContainer):
    """The use cases the CLI calls, over a server's REST API: the same names and methods as ``Services``
    for the commands that a server can answer (a command that needs anything else runs only locally)."""

    client: providers.Dependency[Any] = providers.Dependency()
    backtester = providers.Factory(_remote, "RemoteBacktester", client=client)
    market = providers.Factory(_remote, "RemoteMarketReads", client=client)
    catalog = providers.Factory(_remote, "RemoteCatalog", client=client)
    portfolio = providers.Factory(_remote, "RemotePortfolio", client=client)
    monitoring = providers.Factory(_remote, "RemoteMonitoring", client=client)
    sessions = providers.Factory(_remote, "RemoteSessions", client=client)
    workflows = providers.Singleton(_remote, "RemoteWorkflows", client=client)
    session_reads = providers.Factory(_reported_session_reads, sessions=sessions)
    workflow_executions = providers.Factory(_remote, "RemoteWorkflows", client=client)
    intelligence = providers.Factory(_remote, "intelligence.RemoteIntelligence", client=client)
    cache_admin = providers.Factory(_remote, "admin.RemoteCacheAdmin", client=client)
    auth = providers.Factory(_remote, "admin.RemoteAuth", client=client)
    optimizer = providers.Factory(_remote, "optimize.RemoteOptimizer", client=client)


class RemoteAdapters(containers.DeclarativeContainer):
    """The adapters a remote command reaches for: the server's event stream (its WebSocket)."""

    client: providers.Dependency[Any] = providers.Dependency()
    event_bus = providers.Singleton(_remote, "bus.RemoteEventBus", client=client)


class RemoteContainer(containers.DeclarativeContainer):
    """The remote graph: ``services`` (and the ``adapters`` they need) answered by the server at ``url``,
    over one client (one keep-alive connection)."""

    url: providers.Dependency[str] = providers.Dependency()
    client = providers.Resource(_remote_client, url=url)
    services = providers.Container(RemoteServices, client=client)
    adapters = providers.Container(RemoteAdapters, client=client)


def build_remote_container(url: str) -> Container:
    """The graph whose use cases a server at ``url`` answers, typed as the graph commands use: a command
    that reaches for a use case the remote graph has not fails with ``AttributeError`` (refused earlier by
    the CLI, which lets only remote-capable commands use ``--remote``)."""
    return cast("Container", RemoteContainer(url=url))


async def start_resources(container: containers.Container, *, on_demand: bool = False) -> None:
    """Start the graph's resources: all of them (a server finds a broken adapter at start, not at its first
    request), or with ``on_demand`` none yet: each then starts when a use case first needs it (a CLI command
    needs one or two; starting them all opened the database, imported every adapter and the trading
    sessions' module for each command), and ``stop_resources`` stops those that started. The Redis bus's
    lifecycle (it closes the bus) is the exception: no use case asks for it, so on demand it starts here."""
    if on_demand:
        adapters = container.providers.get("adapters")
        local = adapters is not None and "settings" in container.providers  # a remote graph has no settings
        if local and container.settings().bus.backend == "redis":
            started = cast("Adapters", adapters).event_bus_lifecycle.init()
            if started is not None:
                await started
        return
    # ``init_resources`` returns an awaitable only when some resource is async; accept both.
    result = container.init_resources()
    if result is not None:
        await result


async def stop_resources(container: containers.Container) -> None:
    result = container.shutdown_resources()
    if result is not None:
        await result


def build_container(settings: Settings, *, executor: str | None = None) -> Container:
    """The application graph for ``settings`` (an ``entrypoints.settings.Settings``).

    ``executor`` overrides ``executor.kind``: ``"inline"`` runs CPU work in the caller's process
    (the CLI running one backtest: nobody else is waiting).
    """
    container = Container(settings=settings)
    if executor is not None:
        container.adapters.executor.override(
            providers.Resource(
                _executor,
                kind=executor,
                workers=settings.executor.workers,
                scheduler_address=settings.executor.scheduler_address,
            )
        )
    return container
