"""``Bars`` refuses data it cannot trade on, naming the first bad row."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.errors import GptTraderError, InvalidDataError
from tests.conftest import make_bars


def _arrays(n: int = 5) -> dict[str, np.ndarray]:
    close = np.linspace(10, 14, n)
    return {
        "timestamps": np.datetime64("2021-01-01") + np.arange(n),
        "open": close.copy(),
        "high": close + 1,
        "low": close - 1,
        "close": close,
        "volume": np.full(n, 100.0),
    }


def _broken(**changes: object) -> dict[str, object]:
    data: dict[str, object] = dict(_arrays())
    for key, (row, value) in changes.items():  # type: ignore[misc]
        array = np.array(data[key])
        array[row] = value
        data[key] = array
    return data


def test_valid_bars() -> None:
    bars = Bars(**_arrays(), symbol="OK")
    assert len(bars) == 5
    assert bars.start.year == 2021
    assert not bars.open.flags.writeable


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_broken(close=(2, np.nan)), "close at row 2"),
        (_broken(open=(3, np.inf)), "open at row 3"),
        (_broken(high=(1, 5.0)), "row 1 .* high 5.0 below max\\(open, close\\)"),
        (_broken(low=(4, 100.0)), "row 4 .* low 100.0 above min\\(open, close\\)"),
        (_broken(volume=(0, -1.0)), "volume at row 0"),
        (_broken(timestamps=(3, np.datetime64("2021-01-02"))), "row 3 .* is not after row 2"),
        (_broken(close=(1, -2.0), open=(1, -2.0), low=(1, -3.0)), "row 1 .* must be positive"),
    ],
)
def test_bad_rows_are_named(data: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidDataError, match=message):
        Bars(**data, symbol="BAD")  # type: ignore[arg-type]


def test_empty_and_mismatched_lengths() -> None:
    empty = {k: v[:0] for k, v in _arrays().items()}
    with pytest.raises(InvalidDataError, match="no bars"):
        Bars(**empty)
    data = _arrays()
    data["volume"] = data["volume"][:3]
    with pytest.raises(InvalidDataError, match="volume has 3 values but there are 5 timestamps"):
        Bars(**data)


def test_errors_are_single_lines_and_part_of_the_hierarchy() -> None:
    with pytest.raises(GptTraderError) as info:
        Bars(**_broken(close=(2, np.nan)))
    assert "\n" not in str(info.value)


def test_slicing_between_and_fingerprint() -> None:
    bars = make_bars(np.arange(1, 31, dtype=float))
    part = bars.between("2020-01-05", "2020-01-10")
    assert len(part) == 6 and part.close[0] == 5.0
    assert bars.fingerprint() == make_bars(np.arange(1, 31, dtype=float)).fingerprint()
    assert bars.fingerprint() != part.fingerprint()
    with pytest.raises(InvalidDataError, match="no bars between"):
        bars.between("2021-01-01", "2021-02-01")


def _valid_by_the_rules(d: dict[str, np.ndarray]) -> bool:
    """The documented rules, row by row in plain Python (the reference for the vectorised check)."""
    ts = d["timestamps"]
    if any(np.isnat(t) for t in ts) or any(not ts[i] > ts[i - 1] for i in range(1, len(ts))):
        return False
    for i in range(len(ts)):
        o, h, lo, c, v = (float(d[k][i]) for k in ("open", "high", "low", "close", "volume"))
        if not all(math.isfinite(x) and x > 0 for x in (o, h, lo, c)):
            return False
        if h < max(o, c) or lo > min(o, c) or not v >= 0:
            return False
    return True


_ODD = [math.nan, math.inf, -math.inf, 0.0, -1.0, 1e-300]


@settings(max_examples=300, deadline=None)
@given(
    n=st.integers(1, 6),
    edits=st.lists(
        st.tuples(
            st.sampled_from(["open", "high", "low", "close", "volume", "timestamps"]),
            st.integers(0, 5),
            st.sampled_from([*_ODD, 9.0, 12.0, 16.0]),
        ),
        max_size=3,
    ),
)
def test_refused_exactly_when_a_rule_is_broken(n: int, edits: list[tuple[str, int, float]]) -> None:
    data = _arrays(n)
    data = {k: v.copy() for k, v in data.items()}
    for key, row, value in edits:
        if key == "timestamps":
            data[key][row % n] = np.datetime64("NaT") if math.isnan(value) else np.datetime64("2021-01-03")
        else:
            data[key][row % n] = value
    if _valid_by_the_rules(data):
        Bars(**data)  # type: ignore[arg-type]
    else:
        with pytest.raises(InvalidDataError):
            Bars(**data)  # type: ignore[arg-type]
