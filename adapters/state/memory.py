"""``StateStore`` in process memory: same contract and behaviour as the SQLite store, nothing on disk.

It keeps the very rows the SQLite store writes (encoded by ``_codec``), so a saved record is a deep
copy by construction, a value SQLite could not store fails here too, and ordering compares the same
strings. Data survives ``close``/``open`` (like a file) but not the process.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from adapters.state import _auth_rows, _codec, _common, _outbox
from gpt_trader_core.domain.auth import ApiKey, RefreshToken, User
from gpt_trader_core.domain.records import (
    BacktestRecord,
    EquitySnapshot,
    Execution,
    ExecutionStatus,
    ModelRecord,
    SessionRecord,
    SessionStatus,
    StudyRecord,
    TrialRecord,
)
from gpt_trader_core.domain.trading import Fill, OrderState, Position
from gpt_trader_core.ports import OutboxEvent

__all__ = ["InMemoryStateStore"]

Row = dict[str, Any]


def _newest_first(rows: list[Row], limit: int | None = None, key: str = "id") -> list[Row]:
    # The SQLite store's ORDER BY created_at DESC, id DESC: the same ISO strings, compared the same way.
    return sorted(rows, key=lambda row: (row["created_at"], row[key]), reverse=True)[:limit]


class InMemoryStateStore:
    """``StateStore`` in a dict; for tests, examples and throw-away runs."""

    def __init__(self) -> None:
        self._open = False
        self._backtests: dict[str, tuple[Row, list[Row]]] = {}
        self._executions: dict[str, Row] = {}
        self._models: dict[str, Row] = {}
        self._studies: dict[str, Row] = {}
        self._trials: dict[str, dict[int, Row]] = {}  # study id → trial number → row
        self._sessions: dict[str, Row] = {}
        # session id → client order id → row, in creation order (an upsert keeps the dict position,
        # as the SQLite store keeps an order's seq); plus which session owns each order id.
        self._orders: dict[str, dict[str, Row]] = {}
        self._order_sessions: dict[str, str] = {}
        self._fills: dict[str, dict[str, Row]] = {}  # session id → fill id → row
        self._fill_ids: set[str] = set()  # fill ids are unique across sessions, as in SQLite
        self._positions: dict[str, list[Row]] = {}
        self._equity: dict[str, dict[int, Row]] = {}  # session id → bar → row
        self._session_memo: _codec.SessionMemo = {}  # the encoded constant columns of running sessions
        self._owners: dict[str, str] = {}  # bus topic → subject that started it
        self._outbox: dict[str, list[Row]] = {}  # session id → its pending events, in commit order
        self._outbox_ids: set[tuple[str, int]] = set()  # (source, number) is unique, as in SQLite

    def __repr__(self) -> str:
        return (
            f"InMemoryStateStore({len(self._backtests)} backtests, {len(self._executions)} executions, "
            f"{len(self._models)} models, {len(self._studies)} studies, {len(self._sessions)} sessions)"
        )

    async def open(self) -> None:
        self._open = True

    async def close(self) -> None:
        self._open = False

    async def ping(self) -> None:
        self._check_open()

    # -- BacktestStore -----------------------------------------------------------------------------

    async def save_backtest(self, record: BacktestRecord) -> None:
        self._check_open()
        self._backtests[record.id] = (_codec.backtest_row(record), _codec.trade_rows(record))

    async def get_backtest(self, record_id: str) -> BacktestRecord:
        self._check_open()
        if record_id not in self._backtests:
            raise _common.backtest_not_found(record_id)
        row, trades = self._backtests[record_id]
        return _codec.backtest_from_row(row, trades)

    async def list_backtests(
        self, *, strategy: str | None = None, symbol: str | None = None, limit: int = 50
    ) -> list[BacktestRecord]:
        limit = _common.check_limit(limit)
        self._check_open()
        rows = [
            row
            for row, _ in self._backtests.values()
            if (strategy is None or row["strategy"] == strategy) and (symbol is None or row["symbol"] == symbol)
        ]
        return [_codec.backtest_from_row(row) for row in _newest_first(rows, limit)]

    async def delete_backtest(self, record_id: str) -> None:
        self._check_open()
        if self._backtests.pop(record_id, None) is None:
            raise _common.backtest_not_found(record_id)

    # -- ExecutionStore ----------------------------------------------------------------------------

    async def add_execution(self, execution: Execution) -> None:
        self._check_open()
        row = _codec.execution_row(execution)
        if execution.id in self._executions:
            raise _common.execution_exists(execution.id)
        self._executions[execution.id] = row

    async def update_execution(self, execution: Execution) -> None:
        self._check_open()
        row = _codec.execution_row(execution)
        if execution.id not in self._executions:
            raise _common.execution_not_found(execution.id)
        self._executions[execution.id] = row

    async def get_execution(self, execution_id: str) -> Execution:
        self._check_open()
        row = self._executions.get(execution_id)
        if row is None:
            raise _common.execution_not_found(execution_id)
        return _codec.execution_from_row(row)

    async def list_executions(
        self, *, kind: str | None = None, status: ExecutionStatus | None = None, limit: int = 50
    ) -> list[Execution]:
        limit = _common.check_limit(limit)
        wanted = _common.check_status(status)
        self._check_open()
        rows = [
            row
            for row in self._executions.values()
            if (kind is None or row["kind"] == kind) and (wanted is None or row["status"] == wanted.value)
        ]
        return [_codec.execution_from_row(row) for row in _newest_first(rows, limit)]

    # -- ModelStore --------------------------------------------------------------------------------

    async def save_model(self, record: ModelRecord) -> None:
        self._check_open()
        self._models[record.name] = _codec.model_row(record)

    async def get_model(self, name: str) -> ModelRecord:
        self._check_open()
        row = self._models.get(name)
        if row is None:
            raise _common.model_not_found(name)
        return _codec.model_from_row(row)

    async def list_models(self, *, kind: str | None = None) -> list[ModelRecord]:
        self._check_open()
        rows = [row for row in self._models.values() if kind is None or row["kind"] == kind]
        return [_codec.model_from_row(row) for row in _newest_first(rows, key="name")]

    # -- StudyStore --------------------------------------------------------------------------------

    async def save_study(self, study: StudyRecord) -> None:
        self._check_open()
        self._studies[study.id] = _codec.study_row(study)  # an upsert: the study's trials stay
        self._trials.setdefault(study.id, {})

    async def get_study(self, study_id: str) -> StudyRecord:
        self._check_open()
        row = self._studies.get(study_id)
        if row is None:
            raise _common.study_not_found(study_id)
        return _codec.study_from_row(row)

    async def list_studies(self, *, limit: int = 50) -> list[StudyRecord]:
        limit = _common.check_limit(limit)
        self._check_open()
        return [_codec.study_from_row(row) for row in _newest_first(list(self._studies.values()), limit)]

    async def add_trials(self, study_id: str, trials: Sequence[TrialRecord]) -> None:
        self._check_open()
        rows = _codec.trial_rows(trials)  # all encoded first: an unstorable trial stores none
        if study_id not in self._studies:
            raise _common.trials_without_study(study_id)
        stored = self._trials[study_id]
        for row in rows:
            stored.setdefault(row["number"], row)  # like INSERT OR IGNORE: the first trial of a number stays

    async def list_trials(self, study_id: str) -> list[TrialRecord]:
        self._check_open()
        if study_id not in self._studies:
            raise _common.study_not_found(study_id)
        stored = self._trials[study_id]
        return [_codec.trial_from_row(stored[number]) for number in sorted(stored)]

    async def delete_study(self, study_id: str) -> None:
        self._check_open()
        if self._studies.pop(study_id, None) is None:
            raise _common.study_not_found(study_id)
        self._trials.pop(study_id, None)

    # -- OwnerStore --------------------------------------------------------------------------------

    async def set_owner(self, resource: str, subject: str) -> None:
        self._check_open()
        self._owners.setdefault(resource, subject)

    async def get_owner(self, resource: str) -> str | None:
        self._check_open()
        return self._owners.get(resource)

    # -- TradingStore ------------------------------------------------------------------------------

    async def save_session(self, session: SessionRecord) -> None:
        self._check_open()
        self._sessions[session.id] = _codec.session_row(session)  # an upsert: its orders, fills ... stay

    async def get_session(self, session_id: str) -> SessionRecord:
        self._check_open()
        row = self._sessions.get(session_id)
        if row is None:
            raise _common.session_not_found(session_id)
        return _codec.session_from_row(row)

    async def list_sessions(self, *, status: SessionStatus | None = None, limit: int = 50) -> list[SessionRecord]:
        limit = _common.check_limit(limit)
        wanted = _common.check_session_status(status)
        self._check_open()
        rows = [row for row in self._sessions.values() if wanted is None or row["status"] == wanted.value]
        return [_codec.session_from_row(row) for row in _newest_first(rows, limit)]

    async def swap_session(
        self,
        session: SessionRecord,
        expected: SessionRecord,
        events: Sequence[OutboxEvent] = (),
        sent: Mapping[str, int] | None = None,
    ) -> bool:
        self._check_open()
        row = _codec.session_row(session)
        outbox, published = _outbox.rows(events, as_text=False), _outbox.check_sent(sent)
        if not _common.same_claim(self._sessions.get(session.id), expected.owner, expected.last_bar):
            return False
        self._sessions[session.id] = row
        self._write_outbox(session.id, outbox, published)
        return True

    async def commit_bar(
        self,
        session: SessionRecord,
        orders: Sequence[OrderState],
        fills: Sequence[Fill],
        positions: Sequence[Position],
        equity: EquitySnapshot,
        events: Sequence[OutboxEvent] = (),
        sent: Mapping[str, int] | None = None,
    ) -> None:
        self._check_open()
        bar = _codec.bar_rows(session, orders, fills, positions, equity, self._session_memo)  # all encoded first
        outbox, published = _outbox.rows(events, as_text=False), _outbox.check_sent(sent)
        session_id = bar.session_id
        stored = self._sessions.get(session_id)
        if stored is not None:
            _common.check_holder(session_id, stored["owner"], session.owner)
        for row in bar.orders:  # every check before the first change: all of the bar or nothing
            owner = self._order_sessions.get(row["client_order_id"], session_id)
            if owner != session_id:
                raise _common.order_of_another_session(row["client_order_id"], owner, session_id)
        self._sessions[session_id] = bar.session
        stored_orders = self._orders.setdefault(session_id, {})
        for row in bar.orders:
            stored_orders[row["client_order_id"]] = row
            self._order_sessions[row["client_order_id"]] = session_id
        stored_fills = self._fills.setdefault(session_id, {})
        for row in bar.fills:
            if row["fill_id"] not in self._fill_ids:  # like ON CONFLICT DO NOTHING: a stored fill stays
                self._fill_ids.add(row["fill_id"])
                stored_fills[row["fill_id"]] = row
        self._positions[session_id] = bar.positions
        self._equity.setdefault(session_id, {})[bar.equity["bar"]] = bar.equity
        self._write_outbox(session_id, outbox, published)

    def _write_outbox(self, session_id: str, rows: list[Row], published: list[tuple[str, int]]) -> None:
        """Delete the session's published events, then append ``rows`` after the rest (an event already
        pending keeps its first copy, like the SQL stores' ON CONFLICT DO NOTHING)."""
        done = dict(published)
        kept = []
        for row in self._outbox.get(session_id, []):
            if row["number"] <= done.get(row["source"], 0):
                self._outbox_ids.discard((row["source"], row["number"]))
            else:
                kept.append(row)
        for row in rows:
            if (row["source"], row["number"]) not in self._outbox_ids:
                self._outbox_ids.add((row["source"], row["number"]))
                kept.append(row)
        self._outbox[session_id] = kept

    async def pending_events(self, session_id: str) -> list[OutboxEvent]:
        self._check_open()
        return [_outbox.from_row(row) for row in self._outbox.get(session_id, [])]

    async def mark_sent(self, session_id: str, sent: Mapping[str, int]) -> None:
        self._check_open()
        self._write_outbox(session_id, [], _outbox.check_sent(sent))

    async def ended_with_pending(self, *, limit: int = 100) -> list[str]:
        limit = _common.check_limit(limit)
        self._check_open()
        ended = [
            session_id
            for session_id, rows in self._outbox.items()
            if rows
            and (session := self._sessions.get(session_id)) is not None
            and session["status"] != SessionStatus.RUNNING.value
        ]
        return sorted(ended)[:limit]

    async def list_orders(self, session_id: str) -> list[OrderState]:
        self._check_session(session_id)
        return [_codec.order_from_row(row) for row in self._orders.get(session_id, {}).values()]

    async def list_fills(self, session_id: str) -> list[Fill]:
        self._check_session(session_id)
        rows = sorted(self._fills.get(session_id, {}).values(), key=lambda row: (row["bar"], row["fill_id"]))
        return [_codec.fill_from_row(row) for row in rows]

    async def list_positions(self, session_id: str) -> list[Position]:
        self._check_session(session_id)
        rows = sorted(self._positions.get(session_id, []), key=lambda row: row["symbol"])
        return [_codec.position_from_row(row) for row in rows]

    async def list_equity(self, session_id: str) -> list[EquitySnapshot]:
        self._check_session(session_id)
        stored = self._equity.get(session_id, {})
        return [_codec.equity_from_row(stored[bar]) for bar in sorted(stored)]

    # -- authentication: UserStore, ApiKeyStore, RefreshTokenStore ---------------------------------
    # (the dicts are created on first use, so __init__ stays as it was)

    @property
    def _auth(self) -> dict[str, dict[str, Row]]:
        tables = self.__dict__.get("_auth_tables")
        if tables is None:
            tables = self.__dict__["_auth_tables"] = {"users": {}, "keys": {}, "families": {}, "tokens": {}}
        return tables

    async def add_user(self, user: User) -> None:
        self._check_open()
        if user.username in self._auth["users"]:
            raise _auth_rows.user_exists(user.username)
        self._auth["users"][user.username] = _auth_rows.user_row(user)

    async def get_user(self, username: str) -> User:
        self._check_open()
        row = self._auth["users"].get(username)
        if row is None:
            raise _auth_rows.user_not_found(username)
        return _auth_rows.user_from_row(row)

    async def list_users(self) -> list[User]:
        self._check_open()
        return [_auth_rows.user_from_row(self._auth["users"][name]) for name in sorted(self._auth["users"])]

    async def update_user(self, user: User) -> None:
        self._check_open()
        row = self._auth["users"].get(user.username)
        if row is None:
            raise _auth_rows.user_not_found(user.username)
        new = _auth_rows.user_row(user)
        row.update(role=new["role"], password_hash=new["password_hash"], updated_at=new["updated_at"])

    async def delete_user(self, username: str) -> None:
        self._check_open()
        if self._auth["users"].pop(username, None) is None:
            raise _auth_rows.user_not_found(username)

    async def add_api_key(self, key: ApiKey) -> None:
        self._check_open()
        if key.id in self._auth["keys"]:
            raise _auth_rows.key_exists(key.id)
        self._auth["keys"][key.id] = _auth_rows.key_row(key)

    async def get_api_key(self, key_id: str) -> ApiKey:
        return _auth_rows.key_from_row(self._key_row(key_id))

    async def list_api_keys(self) -> list[ApiKey]:
        self._check_open()
        rows = sorted(self._auth["keys"].values(), key=lambda row: (row["created_at"], row["id"]))
        return [_auth_rows.key_from_row(row) for row in rows]

    async def revoke_api_key(self, key_id: str, at: dt.datetime) -> ApiKey:
        row = self._key_row(key_id)
        if row["revoked_at"] is None:
            row["revoked_at"] = _auth_rows.time_text(at)
        return _auth_rows.key_from_row(row)

    async def touch_api_key(self, key_id: str, at: dt.datetime) -> None:
        self._key_row(key_id)["last_used_at"] = _auth_rows.time_text(at)

    async def add_refresh_token(self, token: RefreshToken) -> None:
        self._check_open()
        if token.jti in self._auth["tokens"]:
            raise _auth_rows.token_exists(token.jti)
        family = self._auth["families"].setdefault(
            token.family, {"id": token.family, "subject": token.subject, "revoked_at": None}
        )
        if family["subject"] != token.subject:
            raise _auth_rows.family_of_another_subject(token.family)
        self._auth["tokens"][token.jti] = _auth_rows.token_row(token)

    async def use_refresh_token(self, jti: str, at: dt.datetime) -> RefreshToken:
        self._check_open()
        row = self._auth["tokens"].get(jti)
        if row is None:
            raise _auth_rows.token_not_found(jti)
        before = _auth_rows.token_from_row(dict(row), self._auth["families"][row["family"]]["revoked_at"])
        if row["used_at"] is None:
            row["used_at"] = _auth_rows.time_text(at)
        return before

    async def revoke_family(self, family: str, at: dt.datetime) -> None:
        self._check_open()
        row = self._auth["families"].get(family)
        if row is not None and row["revoked_at"] is None:
            row["revoked_at"] = _auth_rows.time_text(at)

    async def revoke_families_of(self, subject: str, at: dt.datetime) -> int:
        self._check_open()
        active = [f for f in self._auth["families"].values() if f["subject"] == subject and f["revoked_at"] is None]
        for family in active:
            family["revoked_at"] = _auth_rows.time_text(at)
        return len(active)

    def _key_row(self, key_id: str) -> Row:
        self._check_open()
        row = self._auth["keys"].get(key_id)
        if row is None:
            raise _auth_rows.key_not_found(key_id)
        return row

    def _check_session(self, session_id: str) -> None:
        self._check_open()
        if session_id not in self._sessions:
            raise _common.session_not_found(session_id)

    def _check_open(self) -> None:
        if not self._open:
            raise _common.not_open(self)
