"""The test settings: the demo project's, with the immediate task backend as the default, so a test
sees a push happen right after commit. The database backend (the demo's default) is installed beside
it as ``database``, for the tests of what the demo does."""

from project.settings import *  # noqa: F403
from project.settings import _IMMEDIATE, INSTALLED_APPS

if "django_tasks_db" not in INSTALLED_APPS:
    INSTALLED_APPS.append("django_tasks_db")

TASKS = {
    "default": {"BACKEND": _IMMEDIATE},
    "database": {"BACKEND": "django_tasks_db.DatabaseBackend"},
}
