"""Load on ``cmp-edge serve``: N concurrent clients posting speech to ``/v1/reconstruct``.

Run: ``python -m pytest benchmarks/test_serve_load.py -s`` (about a minute).

A real server (``python -m cmp_edge serve --port 0 --no-page``, the shipped
default model, default limits) is started in a subprocess; for N = 1, 4 and
16 clients, each client posts ``examples/voice.wav`` (6 s of 16 kHz speech,
192 kB) with ``format=json`` in a loop for ``CMP_EDGE_LOAD_SECONDS`` (default
15) seconds over HTTP/1.1 keep-alive. Printed per N: requests per second,
p50 / p95 latency (ms), errors (any status other than 200) and the server's
resident memory before and after. Nothing here asserts on time; a run with
errors fails.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.conftest import REPO_ROOT

SECONDS = float(os.environ.get("CMP_EDGE_LOAD_SECONDS", "15"))
CLIENTS = (1, 4, 16)
VOICE = REPO_ROOT / "examples" / "voice.wav"


def _start() -> tuple[subprocess.Popen[str], str]:
    cmd = [sys.executable, "-m", "cmp_edge", "serve", "--port", "0", "--no-page", "--queue", "32"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if "serving on " in line:
            url = line.split("serving on ")[1].split()[0]
            return proc, url
    raise AssertionError(f"the server did not start (exit {proc.wait()})")


async def _level(url: str, clients: int, body: bytes) -> dict[str, float]:
    import httpx

    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + SECONDS

    async def client() -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=url, timeout=120) as http:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                response = await http.post("/v1/reconstruct", content=body)
                latencies.append((time.perf_counter() - t0) * 1e3)
                errors += response.status_code != 200

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    wall = time.perf_counter() - t0
    return {
        "requests": len(latencies),
        "rps": len(latencies) / wall,
        "p50": float(np.percentile(latencies, 50)),
        "p95": float(np.percentile(latencies, 95)),
        "errors": errors,
    }


@pytest.mark.slow
def test_serve_load() -> None:
    import httpx
    import psutil

    body = VOICE.read_bytes()
    proc, url = _start()
    try:
        server = psutil.Process(proc.pid)
        assert httpx.post(url + "/v1/reconstruct", content=body, timeout=120).status_code == 200
        rows = []
        for clients in CLIENTS:
            before = server.memory_info().rss / 2**20
            result = asyncio.run(_level(url, clients, body))
            after = server.memory_info().rss / 2**20
            rows.append((clients, result, before, after))
    finally:
        proc.terminate()
        proc.wait(30)
    print(f"\nserve load: {SECONDS:g} s per level, {os.cpu_count()} cores, voice.wav 6 s")
    print("| clients | requests | req/s | p50 ms | p95 ms | errors | RSS before MiB | after MiB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for clients, r, before, after in rows:
        print(
            f"| {clients} | {r['requests']} | {r['rps']:.2f} | {r['p50']:.0f} | {r['p95']:.0f} "
            f"| {r['errors']} | {before:.0f} | {after:.0f} |"
        )
    assert all(r["errors"] == 0 for _, r, _, _ in rows)
