"""Module-level (picklable) jobs for the executor tests: workers import this module by name."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from gpt_trader_core.errors import InvalidParameterError


class UnpicklableError(Exception):
    """Its ``__init__`` needs two arguments, so unpickling (which passes only the message) fails."""

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(f"code {code}: {detail}")


def add(a: int, b: int) -> int:
    return a + b


def square(x: int) -> int:
    return x * x


def pid(_: object = None) -> int:
    return os.getpid()


def slow_identity(job: tuple[float, int]) -> tuple[int, int]:
    """Sleeps ``job[0]`` seconds, then returns ``(job[1], pid)``."""
    delay, value = job
    time.sleep(delay)
    return value, os.getpid()


def fail(message: str) -> None:
    raise ValueError(message)


def fail_domain(message: str) -> None:
    raise InvalidParameterError(message)


def fail_on_three(x: int) -> int:
    if x == 3:
        raise KeyError(f"item {x}")
    time.sleep(0.01)
    return x


def fail_unpicklable(detail: str) -> None:
    raise UnpicklableError(7, detail)


def die(code: int) -> None:
    os._exit(code)


def scale(array: np.ndarray, factor: float) -> np.ndarray:
    return array * factor


def describe(array: np.ndarray) -> dict[str, np.ndarray]:
    return {"sum": array.sum(axis=0), "cumsum": np.cumsum(array, axis=0), "dtype": np.array(str(array.dtype))}


def walk_stats(seed: int, steps: int = 200_000) -> np.ndarray:
    """Final value, mean, std and max drawdown of a seeded Gaussian random walk: deterministic per seed."""
    rng = np.random.default_rng(seed)
    path = 100.0 + np.cumsum(rng.normal(0.0, 1.0, steps))
    drawdown = np.max(np.maximum.accumulate(path) - path)
    return np.array([path[-1], path.mean(), path.std(), drawdown])


def burn_cpu(seconds: float) -> int:
    """Pure-Python busy loop (holds the GIL) for about ``seconds``; returns the iterations done."""
    deadline = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < deadline:
        for _ in range(1000):
            n += 1
    return n


def sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def big_result(pid_file: str, size: int) -> bytes:
    """Writes this worker's pid to ``pid_file``, then returns ``size`` bytes (more than a pipe holds)."""
    Path(pid_file).write_text(str(os.getpid()))
    return bytes(size)
