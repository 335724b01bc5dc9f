"""The FLUENTCART_SYNC settings: defaults, lazy reads, the timeout pair, and checks on bad values."""

import pytest

from fluentcart_sync.checks import check_settings
from fluentcart_sync.conf import DEFAULTS, app_settings
from fluentcart_sync.validation import validate_plain_text, validate_wordpress_email


def test_unset_keys_fall_back_to_defaults_and_changes_apply_without_reimport(settings):
    settings.FLUENTCART_SYNC = {"URL": "https://shop.example.com"}
    assert app_settings.MAX_ATTEMPTS == DEFAULTS["MAX_ATTEMPTS"]
    settings.FLUENTCART_SYNC = {"URL": "https://shop.example.com", "MAX_ATTEMPTS": 3}
    assert app_settings.MAX_ATTEMPTS == 3


def test_a_misspelt_setting_name_is_an_error_not_a_silent_default():
    with pytest.raises(AttributeError, match="Unknown fluentcart_sync setting: MAX_ATEMPTS"):
        app_settings.MAX_ATEMPTS  # noqa: B018


def test_timeout_is_a_read_timeout_or_a_connect_read_pair(settings):
    settings.FLUENTCART_SYNC = {"TIMEOUT": 7}
    assert app_settings.timeout == (DEFAULTS["CONNECT_TIMEOUT"], 7.0)
    settings.FLUENTCART_SYNC = {"TIMEOUT": (2, 20)}
    assert app_settings.timeout == (2.0, 20.0)


@pytest.mark.parametrize("timeout", ["soon", (1,), None])
def test_a_timeout_that_is_not_seconds_is_reported_by_check(settings, timeout):
    settings.FLUENTCART_SYNC = {**settings.FLUENTCART_SYNC, "TIMEOUT": timeout}
    assert "fluentcart_sync.E006" in {message.id for message in check_settings()}


@pytest.mark.parametrize("timeout", [0, (0, 5), (3, -1)])
def test_a_timeout_that_is_not_positive_is_reported_by_check(settings, timeout):
    settings.FLUENTCART_SYNC = {**settings.FLUENTCART_SYNC, "TIMEOUT": timeout}
    assert "fluentcart_sync.E006" in {message.id for message in check_settings()}


@pytest.mark.parametrize("email", ["ada@example..com", "ada@.example.com", "ada@example.com.", "ada@localhost"])
def test_wordpress_refuses_emails_with_empty_domain_labels(email):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        validate_wordpress_email(email)


def test_validators_compare_equal_so_migrations_stay_stable():
    # makemigrations compares field validators: a new instance must equal the shipped one.
    assert type(validate_plain_text)() == validate_plain_text
    assert type(validate_wordpress_email)() == validate_wordpress_email
    assert validate_plain_text != validate_wordpress_email


# -- the host project's defaults ---------------------------------------------------------------------------


def _project_env(**extra):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLUENTCART_", "TASKS_BACKEND", "DEBUG"))}
    env.update(DJANGO_SETTINGS_MODULE="project.settings", DATABASE_URL="sqlite:///:memory:",
               FLUENTCART_URL="", **extra)  # "" wins over a developer's .env (read without overwrite)
    return env


def _manage(*args, env):
    import pathlib
    import subprocess
    import sys

    root = pathlib.Path(__file__).resolve().parent.parent
    return subprocess.run([sys.executable, "manage.py", *args], cwd=root, env=env, capture_output=True, text=True,
                          timeout=120)


def test_outside_debug_a_missing_fluentcart_url_fails_check_instead_of_using_the_fake():
    done = _manage("check", env=_project_env(DEBUG="false"))
    assert done.returncode != 0
    assert "fluentcart_sync.E001" in done.stderr and "127.0.0.1:8765" not in done.stdout + done.stderr
    done = _manage("check", env=_project_env(DEBUG="true"))
    assert done.returncode == 0, done.stderr


def test_the_project_queues_pushes_in_the_database_by_default():
    code = "from django.conf import settings; print(settings.TASKS['default']['BACKEND'])"
    done = _manage("shell", "-c", code, env=_project_env(DEBUG="true"))
    assert done.stdout.strip().splitlines()[-1] == "django_tasks_db.DatabaseBackend", done.stderr


@pytest.mark.django_db(transaction=True)
def test_with_the_default_database_backend_signup_never_waits_for_fluentcart(client, fake, settings):
    from django.contrib.auth import get_user_model
    from django.urls import reverse
    from django_tasks_db.models import DBTaskResult

    from fluentcart_sync.models import Customer, SyncStatus

    settings.TASKS = {"default": settings.TASKS["database"]}
    response = client.post(reverse("signup"), {"email": "q@example.com", "full_name": "Quick Signup",
                                               "password1": "a-Long-passw0rd!", "password2": "a-Long-passw0rd!"})
    assert response.status_code == 302
    assert len(fake.requests_seen) == 0, "the request never talked to FluentCart"
    user = get_user_model().objects.get(email="q@example.com")
    assert Customer.objects.get(user=user).sync_status == SyncStatus.PENDING
    assert DBTaskResult.objects.count() == 1  # queued for db_worker
