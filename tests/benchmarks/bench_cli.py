"""Benchmark: CLI start-up over the installed console script. Goal (issue 15): `gpt-trader --help` and
every command's first output in < 300 ms (the plan: < 1 s).

For each command: the median wall time of `gpt-trader COMMAND --help` (start-up, lazy command
loading), and for quick real invocations the time to the first byte on stdout. The peer measured in
the same run is the bare interpreter (`python -c pass`) and `python -c "import cleo"`: the floor no
Python CLI can go under.

Run on demand:  python tests/benchmarks/bench_cli.py [--runs 5]
"""

from __future__ import annotations

import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

GOAL_MS = 300.0

#: quick invocations whose first output is timed (the synthetic market, a fresh home)
FIRST_OUTPUT = [
    ["strategies"],
    ["config", "show"],
    ["status", "--format", "json"],
    ["market", "data", "AAPL", "--from", "2024-01-01", "--to", "2024-03-31"],
    ["market", "regime", "AAPL"],
    ["strategies", "recommend", "AAPL"],
    ["portfolio", "size", "AAPL", "--capital", "10000", "--method", "fixed", "--amount", "2500"],
    ["portfolio", "positions"],
    ["monitor", "--once"],
    ["sessions", "list"],
    ["workflow", "list"],
    ["backtest", "-s", "sma_cross", "--no-save"],
    ["completions", "bash"],
]


def first_output_ms(argv: list[str], env: dict[str, str]) -> float:
    """Milliseconds from the start of the process to its first byte on stdout (then it is let finish)."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert proc.stdout is not None
    select.select([proc.stdout], [], [], 60)
    proc.stdout.read(1)
    elapsed = (time.perf_counter() - started) * 1000
    proc.stdout.read()
    proc.wait()
    return elapsed


def median_ms(argv: list[str], env: dict[str, str], runs: int) -> float:
    first_output_ms(argv, env)  # warm the file-system cache
    return statistics.median(first_output_ms(argv, env) for _ in range(runs))


def main() -> None:
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 5
    exe = shutil.which("gpt-trader")
    if exe is None:
        sys.exit("gpt-trader is not installed (pip install -e .)")
    env = {**os.environ, "HOME": tempfile.mkdtemp(), "NO_COLOR": "1"}
    from entrypoints.cli.application import COMMANDS

    python = median_ms([sys.executable, "-c", "print()"], env, runs)
    cleo = median_ms([sys.executable, "-c", "import cleo.application; print()"], env, runs)
    print(f"peer: python -c print()            {python:7.1f} ms")
    print(f"peer: python -c 'import cleo'      {cleo:7.1f} ms")
    rows: list[tuple[str, float]] = [("--help", median_ms([exe, "--help"], env, runs))]
    rows += [(f"{name} --help", median_ms([exe, *name.split(), "--help"], env, runs)) for name in COMMANDS]
    rows += [(" ".join(args), median_ms([exe, *args], env, runs)) for args in FIRST_OUTPUT]
    print(f"\nmedian of {runs} runs, time to the first byte of output (goal < {GOAL_MS:.0f} ms)")
    for label, ms in rows:
        flag = "" if ms < GOAL_MS else "   OVER GOAL"
        print(f"  gpt-trader {label:<70} {ms:7.1f} ms  ({ms / python:4.1f}x python){flag}")
    over = [label for label, ms in rows if ms >= GOAL_MS]
    print(
        f"\n{len(rows) - len(over)}/{len(rows)} under {GOAL_MS:.0f} ms" + (f"; over: {', '.join(over)}" if over else "")
    )


if __name__ == "__main__":
    main()
