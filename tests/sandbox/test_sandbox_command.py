"""`manage.py fluentcart_sandbox`, run through call_command when a Django settings module exists."""

import importlib
import os
import threading
import time
from io import StringIO

import pytest
import requests

SETTINGS = os.environ.get("DJANGO_SETTINGS_MODULE", "project.settings")


def _settings_importable() -> bool:
    try:
        importlib.import_module(SETTINGS)
    except Exception:
        return False
    return True


pytestmark = pytest.mark.skipif(
    not _settings_importable(),
    reason=f"no importable Django settings module ({SETTINGS}); the command needs a configured project",
)


def test_command_serves_and_never_prints_the_password(tmp_path, monkeypatch):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    monkeypatch.chdir(tmp_path)
    conf = getattr(settings, "FLUENTCART_SYNC", {}) or {}
    username = conf.get("USERNAME") or "demo"
    password = conf.get("APP_PASSWORD") or "demo app pass word 1234"
    out = StringIO()
    stop = threading.Event()
    runner = threading.Thread(
        target=call_command,
        args=("fluentcart_sandbox", "--port", "0", "--latency", "0.001"),
        kwargs={"stdout": out, "stop_event": stop},
    )
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while "FluentCart sandbox at" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.05)
        banner = out.getvalue()
        assert "FluentCart sandbox at" in banner
        assert password not in banner
        if conf.get("APP_PASSWORD"):
            assert "FLUENTCART_SYNC['APP_PASSWORD']" in banner
        base = banner.split(" at ", 1)[1].split(" ", 1)[0]
        answer = requests.get(base + "/customers", auth=(username, password), timeout=5)
        assert answer.status_code == 200
    finally:
        stop.set()
        runner.join(timeout=10)
    assert "stopped" in out.getvalue()
    assert (tmp_path / "var" / "fluentcart-sandbox.sqlite3").exists()
