"""The built wheel works outside this repository: installed into a fresh virtualenv next to a
throwaway Django project, it migrates and pushes customers to the fake FluentCart over real HTTP, and
the project's own pytest suite pushes a customer through `fluentcart_sync.testing`.

`make test-packaging` builds the wheel and its dependencies' wheels (and pytest's, for the host's
tests) into a wheelhouse first (the only step that needs the package index), so the install here
runs offline.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from fluentcart_sync.sandbox import FakeFluentCart, SandboxServer

pytestmark = [pytest.mark.packaging, pytest.mark.slow, pytest.mark.e2e]

REPO = Path(__file__).resolve().parent.parent
USERNAME = "shop-sync"
APP_PASSWORD = "packaging test pass word 4321"


@pytest.fixture(scope="module")
def wheelhouse() -> Path:
    path = os.environ.get("FLUENTCART_WHEELHOUSE")
    if not path:
        pytest.skip("needs the built wheel: run `make test-packaging`")
    return Path(path)


@pytest.fixture(scope="module")
def wheel(wheelhouse: Path) -> Path:
    wheels = sorted(wheelhouse.glob("fluentcart_sync-*.whl"))
    assert len(wheels) == 1, f"expected one fluentcart_sync wheel in {wheelhouse}, found {wheels}"
    return wheels[0]


def test_wheel_ships_the_whole_app_and_nothing_else(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped_from_repo = {
        path.relative_to(REPO).as_posix()
        for path in (REPO / "fluentcart_sync").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    # Every file of the app: code, migrations, the sandbox, py.typed, templates and static files.
    assert shipped_from_repo - names == set()
    assert {"fluentcart_sync/py.typed", "fluentcart_sync/migrations/0001_initial.py"} <= names
    top_level = {name.split("/")[0] for name in names}
    assert top_level == {"fluentcart_sync", wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info"}
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    requires = sorted(line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:"))
    runtime = [r for r in requires if "extra ==" not in r]
    dependencies = [re.match(r"[A-Za-z0-9._-]+", r).group(0).lower() for r in runtime]
    assert dependencies == ["django", "django-countries", "django-tasks", "prometheus-client", "requests"]
    # The range CI runs: Django 5.2 and 6.1, not 6.0.
    assert "!=6.0.*" in next(r for r in runtime if r.lower().startswith("django") and "tasks" not in r)
    assert any("django-tasks" in r and "python_version" in r for r in runtime)


SETTINGS = '''\
"""A throwaway host project: nothing from the fluentcart_sync repository but the installed wheel."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "throwaway-project-for-the-install-test"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "fluentcart_sync",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
ROOT_URLCONF = "shop.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True

try:  # Django 6 has the Tasks API built in; Django 5.2 uses the django-tasks backport
    import django.tasks  # noqa: F401
    TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
except ImportError:
    INSTALLED_APPS.append("django_tasks")
    TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

FLUENTCART_SYNC = {
    "URL": os.environ.get("SHOP_FLUENTCART_URL", "https://shop.example.invalid"),
    "USERNAME": %(username)r,
    "APP_PASSWORD": %(password)r,
    "TIMEOUT": 5,
}
'''

URLS = '''\
from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
'''

MANAGE = '''\
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
'''

SCRIPT = '''\
import json
import django, fluentcart_sync
from django.contrib.auth import get_user_model
from fluentcart_sync.models import Customer

Customer.objects.create(email="ada@example.com", full_name="Ada Lovelace")
get_user_model().objects.create_user("grace", "grace@example.com", "pw-not-used", first_name="Grace", last_name="Hopper")
print(json.dumps({
    "app_file": fluentcart_sync.__file__,
    "django": django.get_version(),
    "customers": list(Customer.objects.order_by("email").values("email", "sync_status", "fluentcart_id", "sync_error")),
}))
'''


# The host project's own tests, written as its developer would, against the installed app. The
# `fluentcart_fake` fixture comes from the wheel's pytest11 entry point: no conftest, no `-p`.
HOST_PYTEST_INI = """\
[pytest]
DJANGO_SETTINGS_MODULE = shop.settings
"""

HOST_TESTS = '''\
import pytest
from django.contrib.auth import get_user_model

from fluentcart_sync.models import Customer

pytestmark = pytest.mark.django_db


def test_a_new_customer_is_pushed_to_fluentcart(fluentcart_fake, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        customer = Customer.objects.create(email="lin@example.com", full_name="Lin Shopper")

    customer.refresh_from_db()
    assert customer.sync_status == "synced", customer.sync_error
    assert fluentcart_fake.customer("lin@example.com")["id"] == customer.fluentcart_id
    assert [body["full_name"] for body in fluentcart_fake.created()] == ["Lin Shopper"]


def test_a_signup_links_the_customer_fluentcart_already_has(fluentcart_fake, django_capture_on_commit_callbacks):
    known = fluentcart_fake.seed_customer("max@example.com", full_name="Max Known")
    with django_capture_on_commit_callbacks(execute=True):
        get_user_model().objects.create_user("max", "Max@Example.com", "not-used", first_name="Max", last_name="Known")

    assert Customer.objects.get().fluentcart_id == known["id"]
    assert fluentcart_fake.count() == 1
    assert fluentcart_fake.audit().ok


def test_fluentcart_down_leaves_the_customer_for_a_retry(fluentcart_fake, django_capture_on_commit_callbacks):
    with fluentcart_fake.faults(error_rate=1.0, error_after_write_fraction=0.0):
        with django_capture_on_commit_callbacks(execute=True):
            customer = Customer.objects.create(email="kim@example.com", full_name="Kim Later")

    customer.refresh_from_db()
    assert customer.sync_status == "retrying"
    assert fluentcart_fake.customers() == []


def test_tests_that_do_not_ask_for_the_fake_are_untouched(settings):
    assert settings.FLUENTCART_SYNC["URL"] == "https://shop.example.invalid"
'''


def run(args: list[str], cwd: Path, **env_extra: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONDONTWRITEBYTECODE="1", **env_extra)
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def venv(wheel: Path, wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel, pytest and pytest-django installed offline."""
    path = tmp_path_factory.mktemp("install") / "venv"
    run([sys.executable, "-m", "venv", str(path)], cwd=path.parent)
    run([str(path / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-index", "--find-links", str(wheelhouse),
         str(wheel), "pytest", "pytest-django"], cwd=path.parent)
    return path


@pytest.fixture(scope="module")
def project(venv: Path) -> Path:
    """The throwaway host project `shop`, with its own tests."""
    project = venv.parent / "shopsite"
    (project / "shop").mkdir(parents=True)
    (project / "tests").mkdir()
    (project / "manage.py").write_text(MANAGE)
    (project / "shop" / "__init__.py").write_text("")
    (project / "shop" / "urls.py").write_text(URLS)
    (project / "shop" / "settings.py").write_text(SETTINGS % {"username": USERNAME, "password": APP_PASSWORD})
    (project / "pytest.ini").write_text(HOST_PYTEST_INI)
    (project / "tests" / "__init__.py").write_text("")
    (project / "tests" / "test_fluentcart.py").write_text(HOST_TESTS)
    return project


def test_installed_wheel_pushes_customers_from_a_fresh_project(venv: Path, project: Path) -> None:
    python = str(venv / "bin" / "python")
    fake = FakeFluentCart(username=USERNAME, password=APP_PASSWORD)
    with SandboxServer(fake) as server:
        assert "no issues" in run([python, "manage.py", "check"], cwd=project, SHOP_FLUENTCART_URL=server.url)
        run([python, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=project, SHOP_FLUENTCART_URL=server.url)
        out = json.loads(run([python, "manage.py", "shell", "-c", textwrap.dedent(SCRIPT)], cwd=project,
                             SHOP_FLUENTCART_URL=server.url).splitlines()[-1])
        seen_before_backfill = len(fake.requests_seen)
        run([python, "manage.py", "fluentcart_backfill", "--no-progress"], cwd=project, SHOP_FLUENTCART_URL=server.url)
        writes_by_backfill = [r for r in list(fake.requests_seen)[seen_before_backfill:] if r.method in ("POST", "PUT")]

    # The app came from the wheel in the new virtualenv, not from this repository.
    assert Path(out["app_file"]).resolve().is_relative_to(venv.resolve())
    by_email = {c["email"]: c for c in out["customers"]}
    assert set(by_email) == {"ada@example.com", "grace@example.com"}
    for customer in by_email.values():
        assert customer["sync_status"] == "synced", customer["sync_error"]
    remote = {c["email"]: c for c in fake.customers()}
    assert set(remote) == {"ada@example.com", "grace@example.com"}
    assert {int(remote[e]["id"]) for e in remote} == {by_email[e]["fluentcart_id"] for e in by_email}
    assert remote["grace@example.com"]["full_name"] == "Grace Hopper"
    # Nothing was left to push: the backfill (the installed command) wrote nothing more.
    assert writes_by_backfill == []


def test_the_host_projects_own_tests_push_through_fluentcart_sync_testing(venv: Path, project: Path) -> None:
    python = str(venv / "bin" / "python")
    out = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error::pytest.PytestUnknownMarkWarning"],
              cwd=project)
    assert "4 passed" in out, out
    # The fixture came from the installed wheel's entry point, not from anything in the project.
    plugins = run([python, "-c", "from importlib.metadata import entry_points; "
                   "print([e.value for e in entry_points(group='pytest11')])"], cwd=project)
    assert "fluentcart_sync.testing.pytest_plugin" in plugins
