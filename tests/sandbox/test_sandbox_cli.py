"""`python -m fluentcart_sync.sandbox`: the sandbox as a separate process, steered over HTTP."""

import os
import pathlib
import signal
import socket
import subprocess
import sys

import pytest
import requests

from ..e2e_support import stop

ROOT = pathlib.Path(__file__).resolve().parents[2]
AUTH = ("demo", "demo app pass word 1234")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def start(tmp_path, request):
    """Start the sandbox in its own process; every process started is stopped when the test ends,
    whatever happens (SIGTERM, then SIGKILL), so a failing test leaks no server."""

    def start(port, *extra):
        process = subprocess.Popen(
            [sys.executable, "-m", "fluentcart_sync.sandbox", "--port", str(port), *extra],
            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        request.addfinalizer(lambda: stop(process))
        banner = process.stdout.readline()
        assert "FluentCart sandbox at" in banner, process.stderr.read()
        return process, banner

    return start




def test_runs_persists_through_sigkill_and_stops_on_sigterm(tmp_path, start):
    port = free_port()
    base = f"http://127.0.0.1:{port}/wp-json/fluent-cart/v2"
    process, banner = start(port, "--username", "shop", "--password", "s3cret pass")
    try:
        assert f"http://127.0.0.1:{port}" in banner and "'shop'" in banner
        assert "s3cret" not in banner and "password from --password" in banner
        answer = requests.post(base + "/customers", json={"email": "p@example.com", "full_name": "P Q"}, auth=("shop", "s3cretpass"))
        assert answer.status_code == 200
    finally:
        process.kill()  # SIGKILL: no chance to flush anything
        process.wait()
    assert (tmp_path / "var" / "fluentcart-sandbox.sqlite3").exists()

    process, banner = start(port, "--mode", "forbidden", "--latency", "0.01")
    try:
        assert "1 customers" in banner
        assert requests.get(base + "/customers", auth=AUTH).status_code == 403
        control = f"http://127.0.0.1:{port}/__sandbox__"
        assert requests.get(control + "/faults").json()["latency"] == 0.01
        requests.post(control + "/mode", json={"mode": "ok"})
        rows = requests.get(base + "/customers", auth=AUTH).json()["customers"]["data"]
        assert [row["email"] for row in rows] == ["p@example.com"]
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "stopped" in out


def test_reset_and_memory_options(tmp_path, start):
    port = free_port()
    process, banner = start(port, "--db", ":memory:", "--reset")
    try:
        assert "in memory" in banner
        stats = requests.get(f"http://127.0.0.1:{port}/__sandbox__/stats").json()
        assert stats["count"] == 0
    finally:
        # SIGTERM, not SIGINT: under `nohup` or `make test &` SIGINT is ignored, and the child inherits that.
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "stopped" in out
    assert not (tmp_path / "var").exists()


def test_stops_cleanly_on_sigterm_even_with_sigint_ignored(tmp_path, start):
    """As under `nohup make test &`: the child inherits SIG_IGN for SIGINT; SIGTERM still stops it."""
    port = free_port()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        process, _ = start(port, "--db", ":memory:")
    finally:
        signal.signal(signal.SIGINT, previous)
    process.send_signal(signal.SIGINT)  # ignored, as it is in the background
    with pytest.raises(subprocess.TimeoutExpired):
        process.wait(timeout=0.5)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "stopped" in out
