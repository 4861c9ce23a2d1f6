"""Running `gpt-trader` in-process: Cleo's ApplicationTester over the real application, its commands
building their container on in-memory adapters (one state store per test, shared by its invocations)."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path

import pytest
from cleo.testers.application_tester import ApplicationTester
from dependency_injector import providers

from adapters.state.memory import InMemoryStateStore
from entrypoints.cli.application import GptTraderApplication
from entrypoints.cli.base import ContainerFactory
from entrypoints.container import Container, build_container
from entrypoints.settings import Settings

#: The result of one invocation, shaped like a finished process so assertions read the same.
Cli = Callable[..., subprocess.CompletedProcess[str]]


def assert_one_line_error(proc: subprocess.CompletedProcess[str], code: int, message: str) -> None:
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    assert message in proc.stderr, proc.stderr
    assert len([line for line in proc.stderr.splitlines() if line.strip()]) == 1, proc.stderr


def in_memory_graph(store: InMemoryStateStore) -> ContainerFactory:
    """The production graph with the state in ``store`` and CPU work inline (market data and cache
    are already in-process by default: synthetic prices, aiocache's memory backend)."""

    async def shared_store() -> AsyncIterator[InMemoryStateStore]:
        await store.open()
        try:
            yield store
        finally:
            await store.close()

    def build(settings: Settings, executor: str | None) -> Container:
        container = build_container(settings, executor="inline")
        container.adapters.state_store.override(providers.Resource(shared_store))
        return container

    return build


def make_cli(monkeypatch: pytest.MonkeyPatch, workdir: Path, store: InMemoryStateStore) -> Cli:
    """``cli(*args, env=...)``: the application run in this process in ``workdir`` with HOME at
    ``workdir/home`` and no ``GPT_TRADER__`` variables but those of ``env``."""
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("NO_COLOR", raising=False)
    for name in [n for n in os.environ if n.upper().startswith("GPT_TRADER__")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(workdir)
    factory = in_memory_graph(store)

    def run(
        *args: str, env: Mapping[str, str] | None = None, decorated: bool = False
    ) -> subprocess.CompletedProcess[str]:
        tester = ApplicationTester(GptTraderApplication(container_factory=factory))
        with monkeypatch.context() as patch:
            for name, value in (env or {}).items():
                patch.setenv(name, value)
            code = tester.execute(shlex.join(args), decorated=decorated, interactive=False)
        return subprocess.CompletedProcess(list(args), code, tester.io.fetch_output(), tester.io.fetch_error())

    return run
