"""``GET /metrics``'s wire format: the core's metric values written by prometheus_client, read back by a
strict parser of the text format 0.0.4 (shared with the monitoring and server tests)."""

from __future__ import annotations

import math
import re
from typing import Any

import attrs
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from entrypoints.http.metrics import PROMETHEUS_CONTENT_TYPE, prometheus_text
from gpt_trader_core.monitor import MetricsRegistry

__all__ = ["ParsedFamily", "parse_prometheus", "prometheus_text", "sample"]

# --------------------------------------------------------------------------- a Prometheus text parser

_SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)\Z")
_LABEL_START = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="')
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}


@attrs.define
class ParsedFamily:
    name: str
    type: str = "untyped"
    help: str = ""
    samples: list[tuple[str, dict[str, str], float]] = attrs.field(factory=list)


def _unescape_help(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"\\": "\\", "n": "\n"}.get(m.group(1), "\\" + m.group(1)), text)


def _parse_labels(text: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    i = 0
    while i < len(text):
        match = _LABEL_START.match(text, i)
        assert match, f"bad label at {text[i:]!r}"
        i = match.end()
        value: list[str] = []
        while text[i] != '"':
            if text[i] == "\\":
                value.append(_ESCAPES[text[i + 1]])
                i += 2
            else:
                value.append(text[i])
                i += 1
        assert match.group(1) not in labels, "duplicate label"
        labels[match.group(1)] = "".join(value)
        i += 1
        if i < len(text):
            assert text[i] == ",", f"expected ',' at {text[i:]!r}"
            i += 1
    return labels


def parse_prometheus(text: str) -> dict[str, ParsedFamily]:
    """A strict reader of the text format 0.0.4 (HELP/TYPE before samples, escaped label values)."""
    families: dict[str, ParsedFamily] = {}
    current: ParsedFamily | None = None
    assert text == "" or text.endswith("\n")
    for line in text.split("\n")[:-1]:  # "\n" only: other line breaks (U+0085 ...) are plain text here
        if line.startswith("# HELP "):
            name, _, help_text = line[len("# HELP ") :].partition(" ")
            current = families.setdefault(name, ParsedFamily(name))
            current.help = _unescape_help(help_text)
        elif line.startswith("# TYPE "):
            name, _, kind = line[len("# TYPE ") :].partition(" ")
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped"), kind
            current = families.setdefault(name, ParsedFamily(name))
            current.type = kind
        else:
            match = _SAMPLE.match(line)
            assert match, f"not a sample line: {line!r}"
            name, labels, value = match.group(1), match.group(2), match.group(3)
            assert current is not None and name.startswith(current.name), f"{name} outside its family"
            current.samples.append((name, _parse_labels(labels or ""), float(value)))
    return families


def sample(family: ParsedFamily, name: str | None = None, **labels: str) -> float:
    matches = [v for n, lab, v in family.samples if n == (name or family.name) and lab == labels]
    assert len(matches) == 1, (labels, family.samples)
    return matches[0]


# --------------------------------------------------------------------------- exposition format

metric_names = st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,15}", fullmatch=True)
label_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,8}", fullmatch=True).filter(
    lambda n: not n.startswith("__") and n != "le"
)
label_values = st.text(max_size=12)


@st.composite
def families(draw: st.DrawFn) -> list[tuple[str, str, str, tuple[str, ...], dict[tuple[str, ...], float]]]:
    names = draw(st.lists(metric_names, min_size=1, max_size=4, unique=True))
    kinds = [draw(st.sampled_from(["counter", "gauge"])) for _ in names]
    assume(len({exposed_name(n, k) for n, k in zip(names, kinds, strict=True)}) == len(names))
    out = []
    for name, kind in zip(names, kinds, strict=True):
        labels = tuple(draw(st.lists(label_names, max_size=3, unique=True)))
        values = st.floats(min_value=0) if kind == "counter" else st.floats()
        children = draw(
            st.dictionaries(st.tuples(*[label_values] * len(labels)), values, min_size=0 if labels else 1, max_size=4)
        )
        out.append((name, kind, draw(st.text(max_size=30)), labels, children))
    return out


def exposed_name(name: str, kind: str) -> str:
    """The name a family is exposed under: a counter's ends in ``_total`` (a Prometheus rule
    prometheus_client applies)."""
    return f"{name}_total" if kind == "counter" and not name.endswith("_total") else name


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@settings(max_examples=150, deadline=None)
@given(families())
def test_counters_and_gauges_round_trip_through_the_text_format(spec: list[Any]) -> None:
    registry = MetricsRegistry()
    for name, kind, help_text, labels, children in spec:
        metric = (
            registry.counter(name, help_text, labels) if kind == "counter" else registry.gauge(name, help_text, labels)
        )
        for key, value in children.items():
            child = metric.labels(**dict(zip(labels, key, strict=True)))
            child.inc(value) if kind == "counter" else child.set(value)  # type: ignore[union-attr]
    parsed = parse_prometheus(prometheus_text(registry))
    assert list(parsed) == [exposed_name(name, kind) for name, kind, *_ in spec]
    for name, kind, help_text, labels, children in spec:
        family = parsed[exposed_name(name, kind)]
        assert (family.type, family.help) == (kind, help_text)
        assert len(family.samples) == len(children)
        for key, value in children.items():
            assert _same(sample(family, **dict(zip(labels, key, strict=True))), float(value))


@settings(max_examples=100, deadline=None)
@given(
    buckets=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=8, unique=True),
    observations=st.lists(st.floats(-1e6, 1e6), max_size=40),
    route=label_values,
)
def test_histograms_expose_cumulative_buckets_sum_and_count(
    buckets: list[float], observations: list[float], route: str
) -> None:
    registry = MetricsRegistry()
    histogram = registry.histogram("latency_seconds", "h", ("route",), buckets=buckets)
    child = histogram.labels(route=route)
    for value in observations:
        child.observe(value)
    family = parse_prometheus(prometheus_text(registry))["latency_seconds"]
    assert family.type == "histogram"
    rows = [(lab["le"], v) for n, lab, v in family.samples if n == "latency_seconds_bucket"]
    assert [le for le, _ in rows] == [repr(b) for b in sorted(buckets)] + ["+Inf"]
    for le, count in rows:
        assert count == sum(1 for o in observations if o <= float(le))  # "le" is inclusive
    counts = [v for _, v in rows]
    assert counts == sorted(counts) and counts[-1] == len(observations)
    if min(buckets) < 0:  # prometheus_client (after OpenMetrics) writes no sum/count when a bucket is negative
        assert {n for n, *_ in family.samples} == {"latency_seconds_bucket"}
        return
    assert sample(family, "latency_seconds_count", route=route) == len(observations)
    assert sample(family, "latency_seconds_sum", route=route) == pytest.approx(math.fsum(observations), abs=1e-6)


@given(st.text())
def test_escaping_keeps_a_value_on_one_line_and_is_reversible(text: str) -> None:
    registry = MetricsRegistry()
    registry.gauge("g", text, ("k",)).labels(k=text).set(1)
    exposed = prometheus_text(registry)
    assert len(exposed.split("\n")) == 4  # HELP, TYPE and the sample each on one line, then the final line feed
    family = parse_prometheus(exposed)["g"]
    assert family.help == text and sample(family, k=text) == 1


@given(st.floats())
def test_sample_values_parse_back_exactly(value: float) -> None:
    registry = MetricsRegistry()
    registry.gauge("g", "a value").set(value)
    assert _same(sample(parse_prometheus(prometheus_text(registry))["g"]), value)


def test_metrics_are_served_with_the_content_type_of_what_is_written() -> None:
    registry = MetricsRegistry()
    registry.counter("requests_total", "requests", ("method",)).labels(method="GET").inc(2)
    assert PROMETHEUS_CONTENT_TYPE == "text/plain; version=0.0.4; charset=utf-8"
    assert prometheus_text(registry) == (
        '# HELP requests_total requests\n# TYPE requests_total counter\nrequests_total{method="GET"} 2.0\n'
    )
    assert prometheus_text(MetricsRegistry()) == ""
