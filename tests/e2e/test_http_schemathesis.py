"""schemathesis against our own OpenAPI document, in-process over ASGI, every check.

A quick run here (5 examples per operation and mode); the thorough run is opt-in:
``GPT_TRADER_FUZZ_EXAMPLES=100 pytest -q -s tests/e2e/test_http_schemathesis.py`` (README, Benchmarks).
Positive data may be refused with 422: JSON Schema cannot state the domain's cross-field rules
(start ≤ end, a strategy's parameter ranges depend on the strategy named in the same body), so a
valid-looking request can still be refused. Auth is off in these runs (HTTP_CONTRACT.md), so the
``ignored_auth`` check is left to the auth issue.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.e2e.http_app import make_app

EXAMPLES = int(os.environ.get("GPT_TRADER_FUZZ_EXAMPLES", "5"))


def _schema(tmp_path: Path) -> schemathesis.BaseSchema:
    app = make_app(tmp_path, "backtest.cash=10000")
    config = SchemathesisConfig.from_dict(
        {
            "checks": {
                "positive_data_acceptance": {"expected-statuses": ["2xx", "304", "404", "409", "422"]},
                # These runs have api.auth.enabled=false (loopback): the document still declares the
                # security every operation needs once auth is on, which the auth issue's run checks.
                "ignored_auth": {"enabled": False},
            },
            "generation": {"max-examples": EXAMPLES},
        }
    )
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app, config=config)


def test_fuzz_every_operation(tmp_path_factory: pytest.TempPathFactory) -> None:
    tmp = tmp_path_factory.mktemp("fuzz")
    schema = _schema(tmp)
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: schemathesis.Case) -> None:
                # auth (issue 13): generated user names, passwords and refresh tokens are wrong by
                # construction, so 401 (429 once locked) is the right answer there; test_auth_app.py fuzzes
                # these operations with auth on.
                wrong_by_construction = case.path in ("/api/v1/auth/login", "/api/v1/auth/refresh")
                case.call_and_validate(excluded_checks=[positive_data_acceptance] if wrong_by_construction else [])

            try:
                run()
            except Unsatisfiable:  # no parameters, no body: there is no invalid request to make
                continue
            except Exception as exc:
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    print(f"schemathesis: {len(operations)} operations x 2 modes x {EXAMPLES} examples, {len(failures)} failures")
    assert not failures, "\n\n".join(failures)
