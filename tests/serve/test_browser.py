"""A real browser on the page: Debian's Chromium, a fake microphone playing a WAV file.

The test starts uvicorn on 127.0.0.1 (a free port), records through the page's
microphone widget, waits for the estimate and checks that the 3D viewer's canvas
shows a head (not a blank frame), then records in live mode and waits for the
final estimate. Screenshots are saved as test artefacts in
``$CMP_EDGE_TEST_ARTIFACTS`` (default ``test-artifacts/`` in the checkout).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from cmp_edge.output.png import decode_png
from tests.conftest import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
VOICE = REPO_ROOT / "examples" / "voice.wav"


def _artefacts() -> Path:
    folder = Path(os.environ.get("CMP_EDGE_TEST_ARTIFACTS", REPO_ROOT / "test-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def server(model) -> Iterator[str]:  # noqa: ANN001
    """The full app (API and page) served by uvicorn on 127.0.0.1; yields its URL."""
    import uvicorn

    from cmp_edge.serve.app import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(model), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(600):
        if server.started:
            break
        time.sleep(0.1)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    sock.close()


def _not_blank(png: bytes) -> float:
    """Fraction of the canvas' pixels that differ from its most common (background) colour."""
    image = decode_png(png)[..., :3].reshape(-1, 3).astype(np.int16)
    colours, counts = np.unique(image, axis=0, return_counts=True)
    background = colours[np.argmax(counts)]
    return float(np.mean(np.abs(image - background).sum(axis=1) > 24))


@pytest.mark.slow
def test_page_records_and_shows_a_head(server: str) -> None:
    if not CHROMIUM.is_file():
        pytest.fail("Chromium is missing: apt-get install -y chromium (see .ci/run)")
    from playwright.sync_api import sync_playwright

    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={VOICE}",
        # software WebGL for the 3D viewer on a machine without a GPU
        "--use-angle=swiftshader",
        "--enable-unsafe-swiftshader",
    ]
    out = _artefacts()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=flags, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(server + "/", timeout=120_000)
            page.wait_for_selector("#estimate", timeout=120_000)
            # live mode: estimates while speaking, then the final one
            report = page.locator("#report")
            page.get_by_role("tab", name="Live").click()
            page.locator("button.record-button:visible").click()
            page.locator("button.stop-button:visible").first.wait_for(timeout=30_000)
            report.get_by_text("of speech").first.wait_for(timeout=120_000)
            page.wait_for_timeout(3000)
            page.locator("button.stop-button:visible").first.click()
            report.get_by_text("Final estimate of the whole recording").wait_for(timeout=120_000)
            page.screenshot(path=str(out / "serve_page_live.png"), full_page=True)

            # a fresh page for the recording (software WebGL of the viewer is costly)
            page.reload()
            page.wait_for_selector("#estimate", timeout=120_000)

            # record from the fake microphone, then stop: the estimate starts by itself
            page.locator("button.record-button:visible").click()
            page.wait_for_timeout(5000)
            page.locator("button.stop-button:visible").first.click()
            report = page.locator("#report")
            report.get_by_text("Estimate of the recording").wait_for(timeout=120_000)
            text = report.inner_text()
            assert "Audio:" in text and "Time per stage (ms):" in text, text
            assert "model" in text and "reconstruct" in text
            params = page.locator("#params").inner_text()
            assert "shape" in params and "scale" in params
            canvas = page.locator("#viewer canvas")
            canvas.wait_for(timeout=60_000)
            # the viewer loads the .glb and draws it (software WebGL here: allow a minute)
            for _ in range(60):
                page.wait_for_timeout(1000)
                shot = canvas.screenshot()
                covered = _not_blank(shot)
                if covered > 0.05:
                    break
            (out / "serve_viewer.png").write_bytes(shot)
            page.screenshot(path=str(out / "serve_page.png"), full_page=True)
            assert covered > 0.05, f"the 3D viewer looks blank ({covered:.3f} of pixels drawn)"
            assert _not_blank(page.locator("#picture img").screenshot()) > 0.05

            # the OpenAPI page renders from the server's own files
            page.goto(server + "/docs")
            page.locator(".opblock-summary-path", has_text="/v1/reconstruct").wait_for()
            page.screenshot(path=str(out / "serve_docs.png"), full_page=True)
        finally:
            browser.close()
