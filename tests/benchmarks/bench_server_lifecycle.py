"""Benchmark: server cold start to healthy, idle RSS, shutdown time; CLI start-up; core import.

Run on demand:  python tests/benchmarks/bench_server_lifecycle.py [--runs 5]
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def one_server_run(mode: str) -> tuple[float, float, float]:
    port, ws_port = free_port(), free_port()
    home = tempfile.mkdtemp()
    env = {**os.environ, "HOME": home}
    exe = shutil.which("gpt-trader") or "gpt-trader"
    started = time.perf_counter()
    proc = subprocess.Popen(
        [exe, "serve", "--mode", mode, "--port", str(port), "--ws-port", str(ws_port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api/v1/system/health"
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.01)
    healthy = time.perf_counter() - started
    time.sleep(1.0)
    rss = rss_mb(proc.pid)
    t0 = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    shutdown = time.perf_counter() - t0
    shutil.rmtree(home, ignore_errors=True)
    return healthy, rss, shutdown


def command_ms(args: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000


def main(runs: int = 5) -> None:
    python = sys.executable
    print(f"medians of {runs} runs")
    print(f"  python -c pass                      {command_ms([python, '-c', 'pass'], runs * 2):7.1f} ms")
    print(f"  python -c 'import gpt_trader_core'  {command_ms([python, '-c', 'import gpt_trader_core'], runs):7.1f} ms")
    print(f"  python -c 'import numpy'            {command_ms([python, '-c', 'import numpy'], runs * 2):7.1f} ms")
    exe = shutil.which("gpt-trader") or "gpt-trader"
    print(f"  gpt-trader --help                   {command_ms([exe, '--help'], runs * 2):7.1f} ms")
    for mode in ("api", "all"):
        results = [one_server_run(mode) for _ in range(runs)]
        healthy, rss, shutdown = (statistics.median(col) for col in zip(*results, strict=True))
        print(
            f"  serve --mode {mode:<4} cold start → healthy {healthy * 1000:7.1f} ms   idle RSS {rss:6.1f} MB"
            f"   SIGTERM → exit {shutdown * 1000:6.1f} ms"
        )


if __name__ == "__main__":
    main(int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 5)
