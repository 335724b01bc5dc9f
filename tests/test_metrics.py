"""Metrics for Prometheus at /fluentcart/metrics: every value equals what the database says at
scrape time; readable with the bearer token or a staff session, refused to everyone else. Also the
per-minute table of push outcomes behind the counters, and `fluentcart_sync_due --status --json`."""

import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from fluentcart_sync import circuit, outcome_log
from fluentcart_sync.models import Customer, PushOutcomeMinute, SyncRun, SyncStatus
from fluentcart_sync.outcomes import Outcome, PushResult
from fluentcart_sync.services import push_customer

pytestmark = pytest.mark.django_db

URL = "/fluentcart/metrics"
TOKEN = "s3cret-scrape-token"


@pytest.fixture
def token(fluentcart_settings):
    fluentcart_settings["METRICS_TOKEN"] = TOKEN
    return TOKEN


def scrape(client, **headers):
    response = client.get(URL, **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def seed_every_state():
    now = timezone.now()
    states = {
        SyncStatus.SYNCED: 3,
        SyncStatus.PENDING: 2,
        SyncStatus.RETRYING: 1,
        SyncStatus.FAILED: 2,
        SyncStatus.MISSING_REMOTE: 1,
    }
    n = 0
    for state, count in states.items():
        for _ in range(count):
            n += 1
            Customer.objects.create(email=f"m{n}@example.com", full_name=f"Me Tric {n}")
            Customer.objects.filter(email=f"m{n}@example.com").update(sync_status=state)
    Customer.objects.filter(email="m4@example.com").update(updated_at=now - timedelta(hours=2))  # pending, oldest
    Customer.objects.filter(email="m1@example.com").update(
        sync_conflicts={"city": {"django": "Paris", "fluentcart": "Lyon", "kept": "django"}}
    )


def test_every_value_equals_the_databases(client, token, fluentcart_settings):
    fluentcart_settings["AUTO_PUSH"] = False
    seed_every_state()
    circuit.open_circuit("FluentCart refused the credentials")
    pulled_at = timezone.now() - timedelta(hours=3)
    SyncRun.objects.create(kind=SyncRun.PULL, finished_at=pulled_at, last_success_at=pulled_at, ok=True)
    minute = timezone.now().replace(second=0, microsecond=0)
    PushOutcomeMinute.objects.create(minute=minute, outcome="created", count=7)
    PushOutcomeMinute.objects.create(minute=minute - timedelta(minutes=1), outcome="created", count=2)
    PushOutcomeMinute.objects.create(minute=minute, outcome="retry", count=4)

    samples = scrape(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    for state in SyncStatus:
        expected = Customer.objects.filter(sync_status=state).count()
        assert samples[("fluentcart_sync_customers", (("sync_status", state.value),))] == expected
    oldest = Customer.objects.get(email="m4@example.com").updated_at
    age = samples[("fluentcart_sync_oldest_owed_push_age_seconds", ())]
    assert abs(age - (timezone.now() - oldest).total_seconds()) < 60
    assert age > 7000
    assert samples[("fluentcart_sync_pushes_paused", ())] == 1
    assert samples[("fluentcart_sync_conflicts", ())] == Customer.objects.exclude(sync_conflicts={}).count() == 1
    assert samples[("fluentcart_sync_last_pull_success_timestamp_seconds", ())] == pytest.approx(pulled_at.timestamp())
    assert samples[("fluentcart_sync_pushes_total", (("outcome", "created"),))] == 9
    assert samples[("fluentcart_sync_pushes_total", (("outcome", "retry"),))] == 4
    assert samples[("fluentcart_sync_pushes_total", (("outcome", "failed"),))] == 0


def test_nothing_owed_and_never_pulled_are_zero(client, token):
    samples = scrape(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert samples[("fluentcart_sync_oldest_owed_push_age_seconds", ())] == 0
    assert samples[("fluentcart_sync_pushes_paused", ())] == 0
    assert samples[("fluentcart_sync_last_pull_success_timestamp_seconds", ())] == 0


def test_refused_without_the_token(client, token):
    response = client.get(URL)
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    assert client.get(URL, HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get(URL, HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401
    assert TOKEN not in response.content.decode()


def test_a_session_that_is_not_staff_gets_403_and_staff_reads_them(client, token):
    user = get_user_model().objects.create_user("shopper", "shopper@example.com", "pw")
    client.force_login(user)
    assert client.get(URL).status_code == 403
    user.is_staff = True
    user.save()
    assert ("fluentcart_sync_pushes_paused", ()) in scrape(client)


def test_no_token_set_means_staff_only(client, fluentcart_settings, monkeypatch):
    monkeypatch.delenv("FLUENTCART_METRICS_TOKEN", raising=False)
    fluentcart_settings["METRICS_TOKEN"] = ""
    assert client.get(URL, HTTP_AUTHORIZATION="Bearer ").status_code == 401
    assert client.get(URL, HTTP_AUTHORIZATION="Bearer anything").status_code == 401
    monkeypatch.setenv("FLUENTCART_METRICS_TOKEN", "from-the-environment")
    assert client.get(URL, HTTP_AUTHORIZATION="Bearer from-the-environment").status_code == 200


def test_pushes_are_counted_by_outcome_once_written(fake, client, token):
    ok = Customer.objects.create(email="ok@example.com", full_name="Okay Person")
    bad = Customer.objects.create(email="bad@example.com", full_name="Bad Person")
    Customer.objects.filter(pk=bad.pk).update(city="<b>x</b>")
    outcome_log.discard()  # the pushes queued by the saves above ran with the test backend
    push_customer(ok.pk)
    push_customer(bad.pk)
    outcome_log.flush()  # a batch, a task or a web request ends
    samples = scrape(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert samples[("fluentcart_sync_pushes_total", (("outcome", "created"),))] == 1
    assert samples[("fluentcart_sync_pushes_total", (("outcome", "failed"),))] == 1


def test_old_minutes_are_pruned_into_totals_so_counters_never_go_down():
    now = timezone.now().replace(second=0, microsecond=0)
    for age_hours, n in ((30, 5), (26, 3), (1, 2)):
        PushOutcomeMinute.objects.create(minute=now - timedelta(hours=age_hours), outcome="updated", count=n)
    before = outcome_log.totals()
    assert outcome_log.prune(now) == 2
    assert outcome_log.totals() == before == {"updated": 10}
    assert PushOutcomeMinute.objects.filter(minute__gt=outcome_log.TOTALS_MINUTE).count() == 1
    PushOutcomeMinute.objects.create(minute=now - timedelta(hours=40), outcome="updated", count=1)
    outcome_log.prune(now)
    assert outcome_log.totals() == {"updated": 11}
    assert PushOutcomeMinute.objects.count() == 2  # the totals row and the recent minute


def test_counts_wait_in_memory_until_written_in_one_go():
    result = PushResult(Outcome.UPDATED, customer_id=1)
    for _ in range(3):
        outcome_log.count(result)
    outcome_log.count(PushResult(Outcome.BUSY, customer_id=1))  # another worker's row: not a push
    assert not PushOutcomeMinute.objects.exists()
    outcome_log.flush()
    assert outcome_log.totals() == {"updated": 3}


def test_status_json_is_one_object_for_scripts(fluentcart_settings):
    fluentcart_settings["AUTO_PUSH"] = False
    seed_every_state()
    out = io.StringIO()
    call_command("fluentcart_sync_due", "--status", "--json", stdout=out)
    status = json.loads(out.getvalue())
    assert status["customers"] == {
        "pending": 2, "synced": 3, "retrying": 1, "failed": 2, "missing_remote": 1,
    }
    assert status["pending"] == 2 and status["failed"] == 2 and status["conflicts"] == 1
    assert status["oldest_owed_push_age_seconds"] > 7000
    assert status["pushes_paused"] is False and status["last_pull"] is None
    assert set(status) >= {"due", "being_pushed", "task_queue_length", "last_sweep", "oldest_owed_since"}


def test_status_counts_a_retry_scheduled_later_as_owed_not_none(fluentcart_settings):
    """The report: "oldest owed push waiting none" while a customer waited 75 minutes for its next try."""
    fluentcart_settings["AUTO_PUSH"] = False
    customer = Customer.objects.create(email="later@example.com", full_name="Later Retry")
    now = timezone.now()
    Customer.objects.filter(pk=customer.pk).update(
        sync_status=SyncStatus.RETRYING, failing_since=now - timedelta(minutes=61),
        next_attempt_at=now + timedelta(minutes=75),
    )
    out = io.StringIO()
    call_command("fluentcart_sync_due", "--status", stdout=out)
    assert "oldest owed push waiting none" not in out.getvalue()
    assert "oldest owed push waiting 366" in out.getvalue()  # 61 minutes, in seconds
