"""The persistence edge: one cattrs converter, and the row shapes both state adapters store.

JSON cannot hold everything a record carries, so the converter adds:

- ``datetime`` → ISO 8601 with a fixed-width time (``isoformat(timespec="microseconds")``), so the
  stored strings of naive UTC times sort chronologically (the stores order by them);
- ``timedelta`` → seconds as a float; exact below ~142 years (2**52 µs). Beyond that a float
  cannot hold every microsecond, so it becomes ``[days, seconds, microseconds]``;
- non-finite ``float`` fields → ``"nan"``, ``"inf"``, ``"-inf"`` (a float field's type tells the
  decoder to read them back);
- enums → their value;
- free-form mappings (``params``, ``config``, ``stats``, ``result``, ``payload``, ``metrics``,
  ``space``, ``fixed``, ``best_params``: ``Mapping[str, Any]``) → a *tagged tree*, because there
  no type says what a value was. Plain JSON values stay as they are;
  anything else becomes a one-key object whose key names the type::

      {"$datetime": "2024-01-02T00:00:00.000000"}   {"$date": "2024-01-02"}
      {"$timedelta": 86400.0}                        {"$float": "nan"}
      {"$tuple": [1, 2]}                             {"$items": [[1, "a"], [2, "b"]]}  (non-str keys)

  A user mapping that itself has a single key spelled like a tag is wrapped as ``{"$dict": {...}}``
  so it is never mistaken for one. Numpy scalars are stored as the Python number they hold.

Every round trip is exact: ``decode(encode(x)) == x`` (NaN compared as NaN), property-tested.
"""

from __future__ import annotations

import collections.abc
import datetime as dt
import enum
import json
import math
import operator
import re
import sys
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn
from cattrs.preconf.json import make_converter

from gpt_trader_core.domain.records import (
    BacktestRecord,
    EquitySnapshot,
    Execution,
    ModelRecord,
    SessionRecord,
    StudyRecord,
    TrialRecord,
)
from gpt_trader_core.domain.specs import FeedSpec, RiskSpec
from gpt_trader_core.domain.trading import Fill, Order, OrderState, Position, Trade
from gpt_trader_core.errors import InvalidParameterError

__all__ = [
    "BACKTEST_COLUMNS",
    "EQUITY_COLUMNS",
    "EXECUTION_COLUMNS",
    "FILL_COLUMNS",
    "MODEL_COLUMNS",
    "ORDER_COLUMNS",
    "POSITION_COLUMNS",
    "SESSION_COLUMNS",
    "STUDY_COLUMNS",
    "TRADE_COLUMNS",
    "TRIAL_COLUMNS",
    "BarRows",
    "SessionMemo",
    "backtest_from_row",
    "backtest_row",
    "bar_rows",
    "converter",
    "decode_tree",
    "dumps",
    "encode_tree",
    "equity_from_row",
    "equity_row",
    "execution_from_row",
    "execution_row",
    "fill_from_row",
    "fill_rows",
    "loads",
    "model_from_row",
    "model_row",
    "order_from_row",
    "order_rows",
    "position_from_row",
    "position_rows",
    "session_from_row",
    "session_row",
    "session_row_reusing",
    "study_from_row",
    "study_row",
    "trade_rows",
    "trial_from_row",
    "trial_rows",
]

_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_OFFSET_WITH_FRACTION = re.compile(r"([+-])(\d\d):(\d\d):(\d\d)\.(\d{6})$")
_FLOAT_EXACT_US = 2**52  # |µs| below this survive µs → float seconds → µs unchanged

_DATETIME, _DATE, _TIMEDELTA, _FLOAT = "$datetime", "$date", "$timedelta", "$float"
_TUPLE, _ITEMS, _DICT = "$tuple", "$items", "$dict"
_TAGS = frozenset({_DATETIME, _DATE, _TIMEDELTA, _FLOAT, _TUPLE, _ITEMS, _DICT})


# -- scalars ---------------------------------------------------------------------------------------


def _encode_datetime(value: dt.datetime) -> str:
    if not isinstance(value, dt.datetime):  # a None or a date would otherwise fail as an AttributeError
        raise TypeError(f"cannot store {value!r} as a datetime")
    return value.isoformat(timespec="microseconds")


def _decode_datetime(value: Any, _: Any = None) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    # Python 3.11's fromisoformat reads "+00:00:00.000001" as UTC: parse sub-second offsets ourselves.
    fraction = _OFFSET_WITH_FRACTION.search(value)
    if fraction is None:
        return dt.datetime.fromisoformat(value)
    sign, hours, minutes, seconds, micros = fraction.groups()
    offset = dt.timedelta(hours=int(hours), minutes=int(minutes), seconds=int(seconds), microseconds=int(micros))
    local = dt.datetime.fromisoformat(value[: fraction.start()])
    return local.replace(tzinfo=dt.timezone(-offset if sign == "-" else offset))


def _encode_timedelta(value: dt.timedelta) -> float | list[int]:
    if abs(value // dt.timedelta(microseconds=1)) < _FLOAT_EXACT_US:
        return value.total_seconds()
    return [value.days, value.seconds, value.microseconds]


def _decode_timedelta(value: Any, _: Any = None) -> dt.timedelta:
    if isinstance(value, list):
        days, seconds, micros = value
        return dt.timedelta(days=days, seconds=seconds, microseconds=micros)
    return dt.timedelta(seconds=value)


def _encode_float(value: float) -> float | str:
    if math.isfinite(value):
        return float(value)  # also turns numpy float64 into a plain float
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def _decode_float(value: Any, _: Any = None) -> float:
    if isinstance(value, str):
        try:
            return _NON_FINITE[value]
        except KeyError:
            raise ValueError(f"not a stored float: {value!r} (expected a number, 'nan', 'inf' or '-inf')") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"not a stored float: {value!r}")
    return float(value)


# -- free-form mappings: the tagged tree --------------------------------------------------------


def encode_tree(value: Any, path: str = "$") -> Any:
    """A JSON-able form of a JSON-like value that may also hold datetimes, timedeltas, nan/inf,
    tuples and non-string keys (see the module docstring). ``TypeError`` names anything else."""
    try:
        return _encode(value)
    except _UnstorableError as error:
        where = path + "".join(reversed(error.steps))
        raise TypeError(
            f"cannot store a {error.kind} at {where}: stored mappings hold JSON-like values "
            "(None, bool, int, float, str, list, tuple, dict) plus datetime, date and timedelta"
        ) from None


class _UnstorableError(TypeError):
    """Raised deep in ``_encode``; each level adds its step on the way out, so the path of a value is
    only spelled out when one fails (building it for every value was most of the cost of encoding)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind
        self.steps: list[str] = []


def _encode(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        value = value.value
    # numpy scalars, without importing numpy (reading the store needs none): until something imported
    # numpy, no value can be one
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        encoded = _encode_float(value)
        return {_FLOAT: encoded} if isinstance(encoded, str) else encoded
    if isinstance(value, dt.datetime):  # before date: a datetime is a date
        return {_DATETIME: _encode_datetime(value)}
    if isinstance(value, dt.date):
        return {_DATE: value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {_TIMEDELTA: _encode_timedelta(value)}
    if isinstance(value, Mapping):
        if all(isinstance(key, str) for key in value):
            tree = {}
            for key, item in value.items():
                try:
                    tree[key] = _encode(item)
                except _UnstorableError as error:
                    error.steps.append(f".{key}")
                    raise
            return {_DICT: tree} if len(tree) == 1 and next(iter(tree)) in _TAGS else tree
        pairs = []
        for key, item in value.items():
            try:
                encoded_key = _encode(key)
            except _UnstorableError as error:
                error.steps.append("<key>")
                raise
            try:
                pairs.append([encoded_key, _encode(item)])
            except _UnstorableError as error:
                error.steps.append(f"[{key!r}]")
                raise
        return {_ITEMS: pairs}
    if isinstance(value, list | tuple):
        items = []
        for i, item in enumerate(value):
            try:
                items.append(_encode(item))
            except _UnstorableError as error:
                error.steps.append(f"[{i}]")
                raise
        return items if isinstance(value, list) else {_TUPLE: items}
    raise _UnstorableError(type(value).__name__)


def decode_tree(value: Any) -> Any:
    """The inverse of ``encode_tree``."""
    if isinstance(value, list):
        return [decode_tree(item) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((tag, inner),) = value.items()
        if tag in _TAGS:
            return _decode_tagged(tag, inner)
    return {key: decode_tree(item) for key, item in value.items()}


def _decode_tagged(tag: str, inner: Any) -> Any:
    if tag == _DATETIME:
        return _decode_datetime(inner)
    if tag == _DATE:
        return dt.date.fromisoformat(inner)
    if tag == _TIMEDELTA:
        return _decode_timedelta(inner)
    if tag == _FLOAT:
        return _decode_float(inner)
    if tag == _TUPLE:
        return tuple(decode_tree(item) for item in inner)
    if tag == _ITEMS:
        return {decode_tree(key): decode_tree(item) for key, item in inner}
    return {key: decode_tree(item) for key, item in inner.items()}  # _DICT: an escaped user mapping


def _is_json_mapping(tp: Any) -> bool:
    """``Mapping[str, Any]`` and friends: the free-form fields that use the tagged tree."""
    origin = typing.get_origin(tp)
    mapping_types = (collections.abc.Mapping, collections.abc.MutableMapping, dict)
    return origin in mapping_types and typing.get_args(tp) == (str, Any)


def _is_enum(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, enum.Enum)


def _enum_value(member: enum.Enum) -> Any:
    return member.value


# -- the converter ---------------------------------------------------------------------------------


def _make_converter() -> cattrs.Converter:
    conv = make_converter()
    conv.register_unstructure_hook(dt.datetime, _encode_datetime)
    conv.register_structure_hook(dt.datetime, _decode_datetime)
    conv.register_unstructure_hook(dt.timedelta, _encode_timedelta)
    conv.register_structure_hook(dt.timedelta, _decode_timedelta)
    conv.register_unstructure_hook(float, _encode_float)
    conv.register_structure_hook(float, _decode_float)
    # str/int enums would otherwise dispatch to the str/int identity hooks and stay members.
    for base in (enum.Enum, enum.StrEnum, enum.IntEnum):
        conv.register_unstructure_hook(base, _enum_value)
    conv.register_structure_hook_func(_is_enum, lambda value, cls: cls(value))
    conv.register_unstructure_hook_func(_is_json_mapping, encode_tree)
    conv.register_structure_hook_func(_is_json_mapping, lambda value, _: decode_tree(value))
    # Trades are stored column by column: refuse unknown keys so a schema drift fails loudly.
    conv.register_unstructure_hook(Trade, make_dict_unstructure_fn(Trade, conv))
    conv.register_structure_hook(Trade, make_dict_structure_fn(Trade, conv, _cattrs_forbid_extra_keys=True))
    _register_session_specs(conv)
    return conv


# -- a session's feed and risk limits: typed values, and the free-form dicts stored before them ----
#
# Since version 2 a session's ``feed``/``risk`` column holds a ``FeedSpec``/``RiskSpec`` with
# ``"version": 2``. Sessions recorded before hold the dict their driver built; they still load, each
# missing field mapped to what it meant when the session ran (the defaults of the code of the time):
#
# - a synthetic feed: seed 0, 1m bars, one bar every ``interval`` (1.0) seconds, 300 warm-up bars;
# - a replay: 1d bars, speed 0, no warm-up; its data source was not recorded (the process used
#   whatever market data it was configured with), so ``source`` stays ``None`` and resuming it is
#   refused with that reason rather than guessed;
# - risk limits: ``RiskLimits``' defaults of the time (position 20 %, daily loss 2 %, drawdown 15 %,
#   cash reserve 10 %, 10 open positions) — not ``RiskSpec``'s.

SPEC_VERSION = 2
_LEGACY_RISK = {
    "max_position_pct": 20.0,
    "max_daily_loss_pct": 2.0,
    "max_drawdown_pct": 15.0,
    "min_cash_reserve_pct": 10.0,
    "max_open_positions": 10,
}


def _legacy_when(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    return dt.datetime.fromisoformat(str(value))


def legacy_feed(data: Mapping[str, Any]) -> FeedSpec:
    """A ``FeedSpec`` from a feed dict stored before version 2 (see the comment above). A description
    no code of the time could run (an unknown kind or timeframe: its session failed when started)
    still loads, as a replay of unrecorded data, so it is listed but refuses to resume."""
    try:
        return _legacy_feed(data)
    except (InvalidParameterError, TypeError, ValueError):
        return FeedSpec("replay")


def _legacy_feed(data: Mapping[str, Any]) -> FeedSpec:
    old = decode_tree(dict(data))
    kind = old.get("kind", "synthetic")
    stop_after = old.get("stop_after") or None
    if kind == "replay":
        return FeedSpec(
            kind="replay",
            timeframe=str(old.get("timeframe", "1d")),
            speed=float(old.get("speed", 0.0)),
            start=_legacy_when(old.get("start")),
            end=_legacy_when(old.get("end")),
            warmup=int(old.get("warmup", 0)),
            stop_after=stop_after,
        )
    timeframe = str(old.get("timeframe", "1m"))
    interval = float(old.get("interval", 1.0))
    spec = FeedSpec(
        kind=kind,
        timeframe=timeframe,
        start=_legacy_when(old.get("start")),
        seed=int(old.get("seed", 0)),
        history_bars=int(old.get("history_bars", 300)),
        started_at=None if old.get("started_at") is None else float(old["started_at"]),
        stop_after=stop_after,
    )
    # interval 1.0 is the default (speed None); otherwise the speed that gives that interval
    return spec if interval == 1.0 else attrs.evolve(spec, speed=spec.bar_seconds / interval if interval else 0.0)


def legacy_risk(data: Mapping[str, Any]) -> RiskSpec:
    """A ``RiskSpec`` from a risk dict stored before version 2 (``RiskLimits(**risk)`` then)."""
    old = decode_tree(dict(data))
    return RiskSpec(**{name: old.get(name, default) for name, default in _LEGACY_RISK.items()})


def _register_session_specs(conv: cattrs.Converter) -> None:
    for cls, legacy in ((FeedSpec, legacy_feed), (RiskSpec, legacy_risk)):
        unstructure = make_dict_unstructure_fn(cls, conv)
        structure = make_dict_structure_fn(cls, conv, _cattrs_forbid_extra_keys=True)

        def encode(value: Any, unstructure: Any = unstructure) -> dict[str, Any]:
            return {"version": SPEC_VERSION, **unstructure(value)}

        def decode(data: Any, cls: type, structure: Any = structure, legacy: Any = legacy) -> Any:
            if isinstance(data, Mapping) and data.get("version") == SPEC_VERSION:
                return structure({key: value for key, value in data.items() if key != "version"}, cls)
            return legacy(data)

        conv.register_unstructure_hook(cls, encode)
        conv.register_structure_hook(cls, decode)


converter: cattrs.Converter = _make_converter()
"""The one converter at the persistence edge (both state adapters and their tests use it)."""


def dumps(value: Any) -> str:
    """Strict JSON (no NaN literals: the converter has already tagged them)."""
    return json.dumps(value, allow_nan=False, separators=(",", ":"))


def loads(text: str) -> Any:
    return json.loads(text)


# -- rows: what the stores keep (SQLite columns; the memory store keeps the same dicts) -----------

BACKTEST_COLUMNS: tuple[str, ...] = (
    "id", "created_at", "strategy", "symbol", "timeframe", "source", "synthetic",
    "data_fingerprint", "start", "end", "params", "config", "stats",
)  # fmt: skip
_BACKTEST_JSON = ("params", "config", "stats")
TRADE_COLUMNS: tuple[str, ...] = tuple(field.name for field in Trade.__attrs_attrs__)
EXECUTION_COLUMNS: tuple[str, ...] = (
    "id", "kind", "name", "status", "params", "progress", "message",
    "created_at", "started_at", "finished_at", "result", "error",
)  # fmt: skip
_EXECUTION_JSON = ("params", "result")
MODEL_COLUMNS: tuple[str, ...] = ("name", "kind", "created_at", "params", "payload", "metrics")
_MODEL_JSON = ("params", "payload", "metrics")
STUDY_COLUMNS: tuple[str, ...] = (
    "id", "created_at", "strategy", "symbol", "timeframe", "start", "end", "method", "objective",
    "maximize", "space", "fixed", "config", "n_trials", "seed", "total", "status", "best_params",
    "best_value", "finished_at", "error",
)  # fmt: skip
_STUDY_JSON = ("space", "fixed", "config", "best_params")
_STUDY_INTEGERS = ("n_trials", "seed", "total")
TRIAL_COLUMNS: tuple[str, ...] = ("number", "params", "stats", "value")
_TRIAL_JSON = ("params", "stats")
_INT64 = range(-(2**63), 2**63)  # what an SQLite INTEGER holds

Row = dict[str, Any]


def _json_columns(data: dict[str, Any], columns: Sequence[str], transform: Callable[[Any], Any]) -> Row:
    return {key: (transform(value) if key in columns and value is not None else value) for key, value in data.items()}


def backtest_row(record: BacktestRecord) -> Row:
    """The ``backtests`` row of a record (its trades go to ``trade_rows``)."""
    data = converter.unstructure(record, BacktestRecord)
    del data["trades"]
    data["synthetic"] = int(data["synthetic"])
    return _json_columns(data, _BACKTEST_JSON, dumps)


def trade_rows(record: BacktestRecord) -> list[Row]:
    """One row per trade, in order, numbered by ``seq``."""
    return [{"seq": seq, **converter.unstructure(trade, Trade)} for seq, trade in enumerate(record.trades)]


def backtest_from_row(row: Mapping[str, Any], trades: Sequence[Mapping[str, Any]] = ()) -> BacktestRecord:
    data = _json_columns({key: row[key] for key in BACKTEST_COLUMNS}, _BACKTEST_JSON, loads)
    data["synthetic"] = bool(data["synthetic"])
    data["trades"] = [{key: trade[key] for key in TRADE_COLUMNS} for trade in trades]
    return converter.structure(data, BacktestRecord)


def execution_row(execution: Execution) -> Row:
    return _json_columns(converter.unstructure(execution, Execution), _EXECUTION_JSON, dumps)


def execution_from_row(row: Mapping[str, Any]) -> Execution:
    data = _json_columns({key: row[key] for key in EXECUTION_COLUMNS}, _EXECUTION_JSON, loads)
    return converter.structure(data, Execution)


def model_row(record: ModelRecord) -> Row:
    """The ``models`` row of a trained model (``params``/``payload``/``metrics`` as tagged JSON text)."""
    return _json_columns(converter.unstructure(record, ModelRecord), _MODEL_JSON, dumps)


def model_from_row(row: Mapping[str, Any]) -> ModelRecord:
    data = _json_columns({key: row[key] for key in MODEL_COLUMNS}, _MODEL_JSON, loads)
    return converter.structure(data, ModelRecord)


def _integer(value: Any, name: str) -> Any:
    """An SQLite INTEGER: a real int (numpy ints accepted, bools and floats refused) in 64 bits."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError(f"cannot store {name}={value!r}: expected an integer, not a bool")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"cannot store {name}={value!r}: expected an integer") from None
    if number not in _INT64:
        raise ValueError(f"cannot store {name}={number}: outside the 64-bit integer range")
    return number


def _real(value: Any) -> Any:
    """An SQLite REAL column's value. REAL affinity stores an integral float as an integer, so -0.0
    reads back as 0.0: store 0.0 in both adapters, so they agree (they compare equal anyway)."""
    return 0.0 if isinstance(value, float) and value == 0.0 else value


def study_row(study: StudyRecord) -> Row:
    """The ``studies`` row of a study (``space``/``fixed``/``config``/``best_params`` as tagged JSON;
    a non-finite ``best_value`` as text, a -0.0 as 0.0)."""
    data = converter.unstructure(study, StudyRecord)
    data["maximize"] = int(bool(data["maximize"]))
    data["best_value"] = _real(data["best_value"])
    for name in _STUDY_INTEGERS:
        data[name] = _integer(data[name], name)
    return _json_columns(data, _STUDY_JSON, dumps)


def study_from_row(row: Mapping[str, Any]) -> StudyRecord:
    data = _json_columns({key: row[key] for key in STUDY_COLUMNS}, _STUDY_JSON, loads)
    data["maximize"] = bool(data["maximize"])
    return converter.structure(data, StudyRecord)


def trial_rows(trials: Sequence[TrialRecord]) -> list[Row]:
    """One ``study_trials`` row per trial (without ``study_id``), all encoded before any is stored,
    so an unstorable trial fails the whole batch. A non-finite ``value`` is text (``'nan'``, ``'inf'``,
    ``'-inf'``: SQLite would turn a NaN into NULL), a -0.0 is 0.0."""
    rows = []
    for i, trial in enumerate(trials):
        if not isinstance(trial, TrialRecord):
            raise TypeError(f"cannot store trials[{i}]: expected a TrialRecord, got a {type(trial).__name__}")
        data = converter.unstructure(trial, TrialRecord)
        data["number"] = _integer(data["number"], f"trials[{i}].number")
        data["value"] = _real(data["value"])
        rows.append(_json_columns(data, _TRIAL_JSON, dumps))
    return rows


def trial_from_row(row: Mapping[str, Any]) -> TrialRecord:
    data = _json_columns({key: row[key] for key in TRIAL_COLUMNS}, _TRIAL_JSON, loads)
    return converter.structure(data, TrialRecord)


# -- trading sessions: sessions, orders, fills, positions, equity ----------------------------------
#
# Every float column goes through ``_real`` (a non-finite one is text, a -0.0 is 0.0, in both
# adapters); every integer column through ``_integer``. The row builders encode and check a whole
# bar before either store writes anything, so an unstorable value stores nothing of the bar.

SESSION_COLUMNS: tuple[str, ...] = tuple(field.name for field in SessionRecord.__attrs_attrs__)
_SESSION_JSON = ("params", "symbols", "config", "feed", "risk")
_ORDER_FIELDS: tuple[str, ...] = tuple(field.name for field in Order.__attrs_attrs__)
_ORDER_STATE_FIELDS: tuple[str, ...] = tuple(
    field.name for field in OrderState.__attrs_attrs__ if field.name != "order"
)
ORDER_COLUMNS: tuple[str, ...] = (
    "client_order_id", "symbol", "side", "quantity", "type", "limit_price", "stop_price", "fraction",
    "reduce_only", "created_at", "status", "filled_quantity", "average_price", "commission", "reason",
    "updated_at",
)  # fmt: skip
"""An ``OrderState`` flattened: its order's fields, then its own (the stores add ``session_id``, ``seq``)."""
FILL_COLUMNS: tuple[str, ...] = (
    "fill_id", "client_order_id", "symbol", "side", "quantity", "price", "commission", "bar", "time",
    "realized_pnl",
)  # fmt: skip
POSITION_COLUMNS: tuple[str, ...] = ("symbol", "size", "entry_price", "entry_bar", "entry_time")
EQUITY_COLUMNS: tuple[str, ...] = ("bar", "time", "cash", "equity")


_SESSION_NULLABLE = frozenset({"last_time", "updated_at", "error", "risk", "owner"})
_ORDER_NULLABLE = frozenset(
    {"limit_price", "stop_price", "fraction", "created_at", "average_price", "reason", "updated_at"}
)
_FILL_NULLABLE = frozenset({"client_order_id"})


def _check_not_null(row: Row, nullable: frozenset[str], name: str) -> Row:
    """Refuse a None where the column is NOT NULL, in both adapters (SQLite would raise mid-batch)."""
    missing = [key for key, value in row.items() if value is None and key not in nullable]
    if missing:
        raise TypeError(f"cannot store {name}: {', '.join(missing)} must not be None")
    return row


def _reals(data: Row) -> Row:
    # Safe on a whole unstructured row: the only floats left in it are float fields (mappings are
    # still trees or already JSON text when this runs on them).
    return {key: _real(value) for key, value in data.items()}


def _check_type(value: Any, expected: type, name: str) -> None:
    if not isinstance(value, expected):
        raise TypeError(f"cannot store {name}: expected a {expected.__name__}, got a {type(value).__name__}")


def _check_id(value: Any, name: str) -> str:
    """A key column: a non-empty string (orders and fills are stored by the ids the broker gives)."""
    if not isinstance(value, str) or not value:
        raise InvalidParameterError(f"cannot store {name}={value!r}: it must be a non-empty string")
    return value


def session_row(session: SessionRecord) -> Row:
    """The ``sessions`` row (``params``/``symbols``/``config``/``feed``/``risk`` as tagged JSON)."""
    _check_type(session, SessionRecord, "the session")
    _check_id(session.id, "session.id")
    data = _reals(converter.unstructure(session, SessionRecord))
    data["last_bar"] = _integer(data["last_bar"], "session.last_bar")
    return _check_not_null(_json_columns(data, _SESSION_JSON, dumps), _SESSION_NULLABLE, "the session")


def session_from_row(row: Mapping[str, Any]) -> SessionRecord:
    data = _json_columns({key: row[key] for key in SESSION_COLUMNS}, _SESSION_JSON, loads)
    return converter.structure(data, SessionRecord)


def order_rows(orders: Sequence[OrderState]) -> list[Row]:
    """One ``orders`` row per client order id (without ``session_id``/``seq``), in order of first
    appearance; an id given twice keeps its last state (an upsert within the batch)."""
    rows: dict[str, Row] = {}
    for i, state in enumerate(orders):
        _check_type(state, OrderState, f"orders[{i}]")
        _check_type(state.order, Order, f"orders[{i}].order")
        client_order_id = _check_id(state.order.client_order_id, f"orders[{i}].order.client_order_id")
        data = converter.unstructure(state, OrderState)
        flat = _reals({**data.pop("order"), **data})
        flat["reduce_only"] = int(bool(flat["reduce_only"]))
        rows[client_order_id] = _check_not_null(
            {key: flat[key] for key in ORDER_COLUMNS}, _ORDER_NULLABLE, f"orders[{i}]"
        )
    return list(rows.values())


def order_from_row(row: Mapping[str, Any]) -> OrderState:
    order = {key: row[key] for key in _ORDER_FIELDS}
    order["reduce_only"] = bool(order["reduce_only"])
    return converter.structure({"order": order, **{key: row[key] for key in _ORDER_STATE_FIELDS}}, OrderState)


def fill_rows(fills: Sequence[Fill]) -> list[Row]:
    """One ``fills`` row per fill id, in order; a fill id given twice keeps its first fill (as the
    stores keep an already stored one)."""
    rows: dict[str, Row] = {}
    for i, fill in enumerate(fills):
        _check_type(fill, Fill, f"fills[{i}]")
        fill_id = _check_id(fill.fill_id, f"fills[{i}].fill_id")
        data = _reals(converter.unstructure(fill, Fill))
        data["bar"] = _integer(data["bar"], f"fills[{i}].bar")
        row = _check_not_null({key: data[key] for key in FILL_COLUMNS}, _FILL_NULLABLE, f"fills[{i}]")
        rows.setdefault(fill_id, row)
    return list(rows.values())


def fill_from_row(row: Mapping[str, Any]) -> Fill:
    return converter.structure({key: row[key] for key in FILL_COLUMNS}, Fill)


def position_rows(positions: Sequence[Position]) -> list[Row]:
    """One ``positions`` row per position; two positions of one symbol are refused."""
    rows: dict[str, Row] = {}
    for i, position in enumerate(positions):
        _check_type(position, Position, f"positions[{i}]")
        data = _reals(converter.unstructure(position, Position))
        data["entry_bar"] = _integer(data["entry_bar"], f"positions[{i}].entry_bar")
        if data["symbol"] in rows:
            raise InvalidParameterError(
                f"cannot store positions[{i}]: a second position in {data['symbol']!r} "
                "(give one net position per symbol)"
            )
        rows[data["symbol"]] = _check_not_null(
            {key: data[key] for key in POSITION_COLUMNS}, frozenset(), f"positions[{i}]"
        )
    return list(rows.values())


def position_from_row(row: Mapping[str, Any]) -> Position:
    return converter.structure({key: row[key] for key in POSITION_COLUMNS}, Position)


def equity_row(snapshot: EquitySnapshot) -> Row:
    _check_type(snapshot, EquitySnapshot, "the equity snapshot")
    data = _reals(converter.unstructure(snapshot, EquitySnapshot))
    data["bar"] = _integer(data["bar"], "equity.bar")
    return _check_not_null({key: data[key] for key in EQUITY_COLUMNS}, frozenset(), "the equity snapshot")


def equity_from_row(row: Mapping[str, Any]) -> EquitySnapshot:
    return converter.structure({key: row[key] for key in EQUITY_COLUMNS}, EquitySnapshot)


@attrs.frozen
class BarRows:
    """Everything one ``commit_bar`` writes, encoded and checked (rows without ``session_id``)."""

    session_id: str
    session: Row
    orders: list[Row]
    fills: list[Row]
    positions: list[Row]
    equity: Row


def bar_rows(
    session: SessionRecord,
    orders: Sequence[OrderState],
    fills: Sequence[Fill],
    positions: Sequence[Position],
    equity: EquitySnapshot,
    session_memo: SessionMemo | None = None,
) -> BarRows:
    """Encode a whole bar up front: anything unstorable raises here, before a store writes.
    ``session_memo`` (a store's own dict) lets consecutive bars reuse the session's JSON columns."""
    row = session_row(session) if session_memo is None else session_row_reusing(session, session_memo)
    return BarRows(
        session_id=row["id"],
        session=row,
        orders=order_rows(orders),
        fills=fill_rows(fills),
        positions=position_rows(positions),
        equity=equity_row(equity),
    )


# -- the session row of every bar, cheaper ----------------------------------------------------------

SessionMemo = dict[str, tuple[tuple[Any, ...], Row]]
"""Per session id: the constant fields last encoded (by identity) and the row they were encoded in."""


_SESSION_PROGRESS = ("status", "last_bar", "last_time", "cash", "equity", "updated_at", "error")
_SESSION_CONSTANT = tuple(name for name in SESSION_COLUMNS if name not in _SESSION_PROGRESS)
_SESSION_TYPES = typing.get_type_hints(SessionRecord)
_SESSION_PROGRESS_HOOKS = tuple((key, converter.get_unstructure_hook(_SESSION_TYPES[key])) for key in _SESSION_PROGRESS)


def session_row_reusing(session: SessionRecord, memo: SessionMemo) -> Row:
    """``session_row``, reusing the encoded columns of the session's previous row that hold the very
    same objects (a running session only moves its progress fields: ``attrs.evolve`` keeps the
    rest, ``params``/``config``/``feed`` ... included). The row equals ``session_row(session)``."""
    _check_type(session, SessionRecord, "the session")
    constant = tuple(getattr(session, key) for key in _SESSION_CONSTANT)
    cached = memo.get(session.id)
    if cached is None or not all(a is b for a, b in zip(cached[0], constant, strict=True)):
        row = session_row(session)
        memo[session.id] = (constant, row)
        return dict(row)
    row = dict(cached[1])  # every column, in order; the progress ones are replaced below
    for key, unstructure in _SESSION_PROGRESS_HOOKS:
        value = _real(unstructure(getattr(session, key)))
        if value is None and key not in _SESSION_NULLABLE:
            raise TypeError(f"cannot store the session: {key} must not be None")
        row[key] = value
    row["last_bar"] = _integer(row["last_bar"], "session.last_bar")
    return row
