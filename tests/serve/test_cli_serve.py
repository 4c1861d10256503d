"""``cmp-edge serve``: binds 127.0.0.1 by default, prints the address, one-line errors."""

from __future__ import annotations

import io
import socket
import subprocess
import sys

import httpx
import pytest

from cmp_edge.cli.main import main


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_port_in_use_and_bad_port() -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    try:
        code, _, err = _run("serve", "--port", str(port), "--no-page")
    finally:
        taken.close()
    assert code == 1
    assert err.count("\n") == 1 and f"127.0.0.1:{port}" in err and "--port" in err
    code, _, err = _run("serve", "--port", "70000")
    assert code == 1 and "0..65535" in err
    code, _, err = _run("serve", "--workers", "0")
    assert code == 1 and "workers" in err and err.count("\n") == 1


@pytest.mark.slow
def test_serves_on_loopback_and_prints_the_address() -> None:
    cmd = [sys.executable, "-m", "cmp_edge", "serve", "--port", "0", "--no-page", "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("cmp-edge: serving on http://127.0.0.1:"), line
        url = line.split("serving on ")[1].split()[0]
        assert httpx.get(url + "/v1/health", timeout=30).json() == {"status": "ok"}
        assert "/docs" in line
    finally:
        proc.terminate()
        proc.wait(30)
