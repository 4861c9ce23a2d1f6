"""Counters, gauges and histograms with labels, and their values as a JSON-like snapshot.

No global registry: the composition root creates one ``MetricsRegistry`` and hands it to whoever
records (HTTP middleware, the monitoring loop). Updates never await, so within one event loop they are
atomic; a lock guards child creation and histogram updates so worker threads may record too. The core
holds values only: the Prometheus wire format is the HTTP edge's (``entrypoints.http.metrics``, with
``prometheus_client``), built from ``snapshot()``.

    registry = MetricsRegistry()
    requests = registry.counter("http_requests_total", "HTTP requests", ("method", "status"))
    requests.labels(method="GET", status=200).inc()
    registry.snapshot()   # {'http_requests_total': {'type': 'counter', 'help': ..., 'samples': [...]}}
"""

from __future__ import annotations

import abc
import bisect
import math
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar, Generic, TypeVar

__all__ = [
    "DEFAULT_BUCKETS",
    "Counter",
    "Gauge",
    "Histogram",
    "MetricsRegistry",
]

#: Latency buckets in seconds (upper bounds; ``+Inf`` is implied), as in the Prometheus clients.
DEFAULT_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")

LabelValue = str | int | float


def _check_labels(names: Iterable[str], reserved: Sequence[str] = ()) -> tuple[str, ...]:
    checked = tuple(names)
    for name in checked:
        if not _LABEL_NAME.match(name) or name.startswith("__") or name in reserved:
            raise ValueError(f"invalid label name {name!r}")
    if len(set(checked)) != len(checked):
        raise ValueError(f"duplicate label names in {checked!r}")
    return checked


class _CounterChild:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        if amount < 0:
            raise ValueError(f"a counter only goes up, got inc({amount!r})")
        self.value += amount


class _GaugeChild:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def set(self, value: float) -> None:
        self.value = float(value)

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount

    def dec(self, amount: float = 1.0) -> None:
        self.value -= amount


class _HistogramChild:
    __slots__ = ("_bounds", "_lock", "count", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...], lock: threading.Lock) -> None:
        self._bounds = bounds
        self._lock = lock
        self.counts = [0] * (len(bounds) + 1)  # per bucket (not cumulative); the last one is +Inf
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        if math.isnan(value):
            raise ValueError("cannot observe NaN")
        index = bisect.bisect_left(self._bounds, value)  # first bound >= value: "le" is inclusive
        with self._lock:
            self.counts[index] += 1
            self.sum += value
            self.count += 1

    def cumulative(self) -> list[int]:
        total = 0
        out = []
        for count in self.counts:
            total += count
            out.append(total)
        return out


C = TypeVar("C", _CounterChild, _GaugeChild, _HistogramChild)


class _Family(abc.ABC, Generic[C]):
    """One metric name: a child per combination of label values."""

    kind: ClassVar[str]

    def __init__(self, name: str, help: str, labels: Iterable[str] = ()) -> None:
        if not _METRIC_NAME.match(name):
            raise ValueError(f"invalid metric name {name!r}")
        self.name = name
        self.help = help
        self.labelnames = _check_labels(labels, self._reserved_labels())
        self._lock = threading.Lock()
        self._children: dict[tuple[str, ...], C] = {}

    @staticmethod
    def _reserved_labels() -> tuple[str, ...]:
        return ()

    @abc.abstractmethod
    def _new_child(self) -> C:
        """Implemented by each metric type."""

    def labels(self, **values: LabelValue) -> C:
        """The child for these label values (every label name, no other); created on first use."""
        try:
            key = tuple(str(values[name]) for name in self.labelnames)
        except KeyError as exc:
            raise ValueError(f"{self.name}: missing label {exc.args[0]!r} (labels: {self.labelnames})") from None
        if len(values) != len(self.labelnames):
            extra = sorted(set(values) - set(self.labelnames))
            raise ValueError(f"{self.name}: unknown labels {extra} (labels: {self.labelnames})")
        child = self._children.get(key)
        if child is None:
            with self._lock:
                child = self._children.setdefault(key, self._new_child())
        return child

    def child(self, *values: str) -> C:
        """``labels()`` for hot paths: the label values as strings, in ``labelnames`` order."""
        child = self._children.get(values)
        if child is None:
            if len(values) != len(self.labelnames):
                raise ValueError(f"{self.name}: {len(values)} label values for labels {self.labelnames}")
            with self._lock:
                child = self._children.setdefault(values, self._new_child())
        return child

    def children(self) -> list[tuple[dict[str, str], C]]:
        """(labels, child) pairs, sorted by label values for a stable output."""
        with self._lock:
            items = sorted(self._children.items())
        return [(dict(zip(self.labelnames, key, strict=True)), child) for key, child in items]

    def clear(self) -> None:
        with self._lock:
            self._children.clear()

    def snapshot(self) -> dict[str, Any]:
        return {
            "type": self.kind,
            "help": self.help,
            "samples": [{"labels": labels, **self._snapshot_child(child)} for labels, child in self.children()],
        }

    @abc.abstractmethod
    def _snapshot_child(self, child: C) -> dict[str, Any]:
        """Implemented by each metric type."""


V = TypeVar("V", _CounterChild, _GaugeChild)


class _ValueFamily(_Family[V]):
    """A family whose children hold one value each."""

    def _snapshot_child(self, child: V) -> dict[str, Any]:
        return {"value": child.value}


class Counter(_ValueFamily[_CounterChild]):
    """A value that only goes up (requests served, errors)."""

    kind = "counter"

    def _new_child(self) -> _CounterChild:
        return _CounterChild()

    def inc(self, amount: float = 1.0) -> None:
        """Increment the unlabelled counter."""
        self.labels().inc(amount)


class Gauge(_ValueFamily[_GaugeChild]):
    """A value that goes up and down (CPU %, loop lag, alerts firing)."""

    kind = "gauge"

    def _new_child(self) -> _GaugeChild:
        return _GaugeChild()

    def set(self, value: float) -> None:
        """Set the unlabelled gauge."""
        self.labels().set(value)


class Histogram(_Family[_HistogramChild]):
    """Observations counted into fixed buckets (``le`` = upper bound, inclusive), with their sum and count."""

    kind = "histogram"

    def __init__(
        self, name: str, help: str, labels: Iterable[str] = (), buckets: Sequence[float] = DEFAULT_BUCKETS
    ) -> None:
        super().__init__(name, help, labels)
        bounds = sorted(float(b) for b in buckets if not math.isinf(b))
        if not bounds or any(math.isnan(b) for b in bounds) or len(set(bounds)) != len(bounds):
            raise ValueError(f"{name}: buckets must be distinct numbers, got {tuple(buckets)!r}")
        self.buckets: tuple[float, ...] = tuple(bounds)

    @staticmethod
    def _reserved_labels() -> tuple[str, ...]:
        return ("le",)

    def _new_child(self) -> _HistogramChild:
        return _HistogramChild(self.buckets, self._lock)

    def observe(self, value: float) -> None:
        """Observe into the unlabelled histogram."""
        self.labels().observe(value)

    def _snapshot_child(self, child: _HistogramChild) -> dict[str, Any]:
        with self._lock:
            cumulative, total, count = child.cumulative(), child.sum, child.count
        bounds = [repr(b) for b in self.buckets]
        return {"count": count, "sum": total, "buckets": dict(zip([*bounds, "+Inf"], cumulative, strict=True))}


F = TypeVar("F", Counter, Gauge, Histogram)


class MetricsRegistry:
    """The metric families of one process, in registration order.

    Asking again for a name returns the existing family when its type and labels agree (so two
    components can share ``http_requests_total``), and raises ``ValueError`` otherwise.
    """

    def __init__(self) -> None:
        self._families: dict[str, Counter | Gauge | Histogram] = {}
        self._lock = threading.Lock()

    def _get_or_add(self, family: F) -> F:
        with self._lock:
            existing = self._families.get(family.name)
            if existing is None:
                self._families[family.name] = family
                return family
        if type(existing) is not type(family) or existing.labelnames != family.labelnames:
            raise ValueError(
                f"metric {family.name!r} is already registered as a {existing.kind} with labels {existing.labelnames}"
            )
        if isinstance(existing, Histogram) and isinstance(family, Histogram) and existing.buckets != family.buckets:
            raise ValueError(f"histogram {family.name!r} is already registered with buckets {existing.buckets}")
        return existing

    def counter(self, name: str, help: str, labels: Iterable[str] = ()) -> Counter:
        return self._get_or_add(Counter(name, help, labels))

    def gauge(self, name: str, help: str, labels: Iterable[str] = ()) -> Gauge:
        return self._get_or_add(Gauge(name, help, labels))

    def histogram(
        self, name: str, help: str, labels: Iterable[str] = (), buckets: Sequence[float] = DEFAULT_BUCKETS
    ) -> Histogram:
        return self._get_or_add(Histogram(name, help, labels, buckets))

    def get(self, name: str) -> Counter | Gauge | Histogram | None:
        return self._families.get(name)

    def __iter__(self) -> Iterator[Counter | Gauge | Histogram]:
        return iter(list(self._families.values()))

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Every family as JSON-like data:
        ``{name: {type, help, samples: [{labels, value}]}}`` (histograms: ``count``, ``sum``, ``buckets``)."""
        return {family.name: family.snapshot() for family in self}
