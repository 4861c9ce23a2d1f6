"""The per-bar session row reuses the encoded constant columns and still equals the plain encoding."""

from __future__ import annotations

import attrs

from adapters.state import _codec
from gpt_trader_core.domain.records import SessionStatus
from tests.adapters.test_trading_store import at, make_session


def test_reused_session_rows_equal_fresh_ones() -> None:
    memo: _codec.SessionMemo = {}
    session = make_session(last_bar=3)
    assert _codec.session_row_reusing(session, memo) == _codec.session_row(session)
    for bar in range(4, 8):  # a running session: only its progress moves
        session = attrs.evolve(session, last_bar=bar, last_time=at(bar), cash=1.5 * bar, equity=2.5 * bar)
        assert _codec.session_row_reusing(session, memo) == _codec.session_row(session)
    for status in SessionStatus:
        ended = attrs.evolve(session, status=status, error=f"{status}: x", last_time=None, updated_at=None)
        assert _codec.session_row_reusing(ended, memo) == _codec.session_row(ended)
    changed = attrs.evolve(session, params={"fast": 5, "slow": 30}, risk=None)  # new objects: encoded again
    assert _codec.session_row_reusing(changed, memo) == _codec.session_row(changed)
    assert memo[session.id][1]["params"] == _codec.session_row(changed)["params"]
