"""Bounded work: a queue, then 503 with Retry-After; timeouts; slow uploads; parallel requests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import httpx
import numpy as np

from cmp_edge.serve.limits import Limits
from tests.serve.conftest import wav_bytes


def _app(model, **limits):  # noqa: ANN001, ANN003, ANN202
    from cmp_edge.serve.app import create_app

    return create_app(model, Limits(**limits), page=False)


def _client(app) -> httpx.AsyncClient:  # noqa: ANN001
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def _until(predicate, seconds: float = 10.0) -> None:  # noqa: ANN001
    for _ in range(int(seconds / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def _gated(service, gate: threading.Event) -> None:  # noqa: ANN001
    real = service.reconstruct

    def slow(data: bytes, what: str):  # noqa: ANN202
        assert gate.wait(30)
        return real(data, what)

    service.reconstruct = slow


def test_queue_then_503_with_retry_after(model, voice) -> None:  # noqa: ANN001
    app = _app(model, workers=1, queue=1)
    service, gate = app.state.service, threading.Event()
    _gated(service, gate)
    data = wav_bytes(voice, 16000)

    async def scenario() -> None:
        async with _client(app) as client:
            admitted = [asyncio.create_task(client.post("/v1/reconstruct", content=data))]
            await _until(lambda: service.pool.in_flight == 1)
            admitted.append(asyncio.create_task(client.post("/v1/reconstruct", content=data)))
            await _until(lambda: service.pool.in_flight == 2)  # one running, one queued
            refused = await client.post("/v1/reconstruct", content=data)
            assert refused.status_code == 503
            assert int(refused.headers["retry-after"]) >= 1
            assert "busy" in refused.json()["error"]
            assert (await client.get("/v1/health")).status_code == 200  # the loop stays free
            gate.set()
            done = await asyncio.gather(*admitted)
            assert [r.status_code for r in done] == [200, 200]
            assert done[0].json()["params"] == done[1].json()["params"]
            await _until(lambda: service.pool.in_flight == 0)
            assert service.pool.rejected == 1

    asyncio.run(scenario())


def test_timeout_answers_503_and_keeps_the_slot(model, voice) -> None:  # noqa: ANN001
    app = _app(model, workers=1, queue=0, work_timeout_s=0.3)
    service, gate = app.state.service, threading.Event()
    _gated(service, gate)

    async def scenario() -> None:
        async with _client(app) as client:
            late = await client.post("/v1/reconstruct", content=wav_bytes(voice, 16000))
            assert late.status_code == 503 and "too long" in late.json()["error"]
            assert "retry-after" in late.headers
            # the abandoned call still runs, so it still counts against the bound
            assert service.pool.in_flight == 1
            busy = await client.post("/v1/reconstruct", content=wav_bytes(voice, 16000))
            assert busy.status_code == 503 and "busy" in busy.json()["error"]
            gate.set()
            await _until(lambda: service.pool.in_flight == 0)

    asyncio.run(scenario())


def test_slow_upload_is_408(model, voice) -> None:  # noqa: ANN001
    app = _app(model, upload_timeout_s=0.3)
    data = wav_bytes(voice, 16000)

    async def trickle() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 4096):
            await asyncio.sleep(0.05)
            yield data[start : start + 4096]

    async def scenario() -> None:
        async with _client(app) as client:
            slow = await client.post("/v1/reconstruct", content=trickle())
            assert slow.status_code == 408, slow.text
            assert "did not arrive within 0.3 s" in slow.json()["error"]

    asyncio.run(scenario())


def test_parallel_requests_agree(model, voice) -> None:  # noqa: ANN001
    app = _app(model, workers=2, queue=8)
    voices = [wav_bytes(np.roll(voice, 1600 * k), 16000) for k in range(2)]

    async def scenario() -> None:
        async with _client(app) as client:
            calls = [client.post("/v1/reconstruct", content=voices[k % 2]) for k in range(4)]
            done = await asyncio.gather(*calls)
            assert all(r.status_code == 200 for r in done)
            assert done[0].json()["params"] == done[2].json()["params"]
            assert done[1].json()["params"] == done[3].json()["params"]
            assert done[0].json()["params"] != done[1].json()["params"]

    asyncio.run(scenario())
