"""`make run` (scripts/demo.sh) runs what production runs, refuses a taken port, and stops everything it
started. Each test starts the script in its own session and kills that session whatever happens."""

from __future__ import annotations

import os
import pathlib
import signal
import socket
import subprocess
import time

import pytest
import requests

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "demo.sh"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def session_processes(sid: int) -> list[str]:
    listing = subprocess.run(["ps", "-ww", "-eo", "sid=,pid=,args="], capture_output=True, text=True).stdout
    return [line for line in listing.splitlines() if line.split(None, 1)[0] == str(sid)]


@pytest.fixture
def demo(tmp_path, request):
    """Start scripts/demo.sh in a new session with its own database; never leaves a process behind."""

    def start(**extra: str) -> subprocess.Popen:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FLUENTCART_", "TASKS_BACKEND", "PORT"))}
        env.update(DEBUG="true", DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}", FLUENTCART_SANDBOX_DB=":memory:",
                   DJANGO_SETTINGS_MODULE="project.settings",
                   PY=str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else "python",
                   PYTHONUNBUFFERED="1", **extra)
        process = subprocess.Popen(["bash", str(SCRIPT)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, start_new_session=True)
        request.addfinalizer(lambda: _stop_session(process))
        return process

    return start


def _stop_session(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
    # Whatever the script left (it should leave nothing), by its session: never by name.
    for line in session_processes(process.pid):
        try:
            os.kill(int(line.split()[1]), signal.SIGKILL)
        except ProcessLookupError:
            pass
    if process.stdout is not None:
        process.stdout.close()


@pytest.mark.parametrize("which", ["PORT", "FLUENTCART_SANDBOX_PORT"])
def test_a_taken_port_is_refused_with_a_clear_message(demo, which):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        ports = {"PORT": str(free_port()), "FLUENTCART_SANDBOX_PORT": str(free_port()), which: str(taken)}
        process = demo(**ports)
        out, _ = process.communicate(timeout=60)
    assert process.returncode == 1
    assert f"Port {taken} on 127.0.0.1 is already in use" in out and f"{which}=<port> make run" in out
    assert "Traceback" not in out


def test_runs_worker_and_sweep_beside_the_server_on_any_port_and_stops_them_all(demo, tmp_path):
    port, sandbox_port = free_port(), free_port()
    process = demo(PORT=str(port), FLUENTCART_SANDBOX_PORT=str(sandbox_port))
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read()
        try:
            if requests.get(f"http://127.0.0.1:{port}/signup/", timeout=2).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    else:
        pytest.fail("the demo's Django never answered")

    running = "\n".join(session_processes(process.pid))
    assert "fluentcart_sandbox" in running and f"--port {sandbox_port}" in running
    assert "db_worker" in running
    assert "fluentcart_sync_due --run --loop 10" in running
    assert f"runserver 127.0.0.1:{port}" in running

    # A customer saved outside any request reaches the fake through the worker, no click needed.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUENTCART_")}
    env.update(DEBUG="true", DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
               FLUENTCART_SANDBOX_PORT=str(sandbox_port), DJANGO_SETTINGS_MODULE="project.settings")
    python = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else "python"
    subprocess.run([python, "manage.py", "shell", "-c",
                    "from fluentcart_sync.models import Customer; Customer.objects.create(email='d@example.com', "
                    "full_name='Demo Person')"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=60)
    status = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and status != "synced":
        status = subprocess.run([python, "manage.py", "shell", "-c",
                                 "from fluentcart_sync.models import Customer; "
                                 "print(Customer.objects.get(email='d@example.com').sync_status)"],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=60).stdout.strip().split()[-1]
        time.sleep(1)
    assert status == "synced"

    # Stopping the fake alone simulates FluentCart going away: the demo keeps running.
    [fake_pid] = [int(line.split()[1]) for line in session_processes(process.pid)
                  if "manage.py fluentcart_sandbox" in line and "bash" not in line.split()[2]]
    os.kill(fake_pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any("manage.py fluentcart_sandbox" in line and "bash" not in line.split()[2]
                                              for line in session_processes(process.pid)):
        time.sleep(0.5)
    assert process.poll() is None, "the demo outlives its fake FluentCart"
    assert requests.get(f"http://127.0.0.1:{port}/signup/", timeout=5).status_code == 200
    assert (ROOT / "var" / "demo.env").read_text() == f"export PORT={port} FLUENTCART_SANDBOX_PORT={sandbox_port}\n"

    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=30)
    assert "Demo stopped." in out
    assert "The fake FluentCart stopped; the demo keeps running" in out
    # what it printed: the health page, the fault switches, the ports for a second terminal
    assert f"http://127.0.0.1:{port}/admin/fluentcart_sync/customer/health/" in out
    assert f"http://127.0.0.1:{sandbox_port}/__sandbox__/faults" in out and "source var/demo.env" in out
    assert "Swept 0 customers" not in out, "a sweep with nothing to do says nothing"
    time.sleep(0.5)
    assert session_processes(process.pid) == [], "every process the demo started is stopped"
