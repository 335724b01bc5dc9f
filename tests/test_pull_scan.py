"""How the pull reads FluentCart (issue 22): id ranges of 199, each one page, so that every request
costs FluentCart the same wherever it is in the table; the last range is read on with ``id>`` until
nothing is left, for the customers created during the scan. What users care about: every customer is read once, exactly the
deleted ones are marked, and a scan that did not finish marks nothing."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from fluentcart_sync.client import FluentCartClient
from fluentcart_sync.exceptions import FluentCartServerError
from fluentcart_sync.models import Customer, SyncStatus
from fluentcart_sync.pull import pull

from .conftest import sent

pytestmark = pytest.mark.django_db


def seed(fake, count, start=0):
    """``count`` FluentCart customers; their ids."""
    return [
        fake.create_customer(email=f"c{n}@example.com", full_name=f"Cust Omer{n}", status="active")["id"]
        for n in range(start, start + count)
    ]


def listings(fake):
    """The query of every GET /customers the fake received, oldest first."""
    return [r.query for r in sent(fake, "GET") if r.path == "/customers"]


def range_bounds(search):
    low, high = search.removeprefix("id::").split("-")
    return int(low), int(high)


def pulled_everything(fake):
    """A first pull: every FluentCart customer created here, synced."""
    summary = pull()
    assert summary.complete and summary.counts["created"] == fake.count()
    fake.requests_seen.clear()


@pytest.mark.parametrize("concurrency", [1, 3])
def test_a_pull_over_ids_with_gaps_reads_every_customer_and_marks_exactly_the_deleted_ones_missing(fake, concurrency):
    ids = seed(fake, 700)
    pulled_everything(fake)
    # A whole range of 199 ids gone (an empty page), part of another, and a few scattered.
    deleted = set(ids[150:420]) | {ids[0], ids[500], ids[-1]}
    fake.store.delete(deleted)

    summary = pull(concurrency=concurrency)

    assert summary.complete and not summary.error
    assert summary.read == 700 - len(deleted) == summary.counts["unchanged"]
    assert summary.deleted_remotely == len(deleted)
    missing = set(
        Customer.objects.filter(sync_status=SyncStatus.MISSING_REMOTE).values_list("fluentcart_id", flat=True)
    )
    assert missing == deleted
    assert Customer.objects.filter(sync_status=SyncStatus.SYNCED).count() == 700 - len(deleted)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_pull_asks_for_id_ranges_of_one_page_never_for_a_deeper_page(fake, concurrency):
    seed(fake, 450)
    summary = pull(concurrency=concurrency)
    assert summary.complete and summary.read == 450

    queries = listings(fake)
    assert all(query.get("page", "1") == "1" for query in queries), "no OFFSET: every answer is page 1"
    highest, *scan = queries
    assert (highest["sort_type"], highest["per_page"]) == ("desc", "1") and "search" not in highest
    ranges = [range_bounds(query["search"]) for query in scan if query["search"].startswith("id::")]
    assert ranges == [(1, 199), (200, 398)]
    assert all((query["sort_type"], query["per_page"]) == ("asc", "199") for query in scan)
    # The range holding the highest id is read from its start on, past the highest id: one page here.
    assert [query["search"] for query in scan[len(ranges) :]] == ["id>398"]


def test_an_empty_fluentcart_is_a_complete_scan(fake):
    summary = pull(concurrency=4)
    assert summary.complete and summary.read == 0 and not summary.error
    assert [query.get("search") for query in listings(fake)] == [None]


def test_customers_created_in_fluentcart_during_a_pull_are_read(fake, monkeypatch):
    seed(fake, 300)
    real = FluentCartClient.list_customers
    created = []

    def listed(self, **kwargs):
        page = real(self, **kwargs)
        if kwargs.get("search") == "id::1-199" and not created:
            created.extend(seed(fake, 250, start=300))  # signups while the pull runs, past the highest id
        return page

    monkeypatch.setattr(FluentCartClient, "list_customers", listed)
    summary = pull(concurrency=2)

    assert summary.complete and summary.read == 550 == summary.counts["created"]
    assert set(Customer.objects.values_list("fluentcart_id", flat=True)) == {c["id"] for c in fake.customers()}
    tail = [query["search"] for query in listings(fake) if query.get("search", "").startswith("id>")]
    assert tail == ["id>199", f"id>{199 + 199}"], "on from the last range until nothing is left"


@pytest.mark.parametrize(
    "failing",
    ["highest id", "a range", "the last range on"],
)
def test_a_failing_request_leaves_the_scan_incomplete_and_marks_nothing_deleted(fake, monkeypatch, failing):
    ids = seed(fake, 450)
    pulled_everything(fake)
    fake.store.delete([ids[3]])
    real = FluentCartClient.list_customers

    def fails(self, **kwargs):
        search = kwargs.get("search") or ""
        if {
            "highest id": not kwargs.get("ascending", True),
            "a range": search.startswith("id::200-"),
            "the last range on": search.startswith("id>"),
        }[failing]:
            raise FluentCartServerError("FluentCart answered 500", status_code=500)
        return real(self, **kwargs)

    monkeypatch.setattr(FluentCartClient, "list_customers", fails)
    summary = pull(concurrency=3)
    assert not summary.complete and "FluentCart answered 500" in summary.error
    assert summary.deleted_remotely == 0
    assert not Customer.objects.filter(sync_status=SyncStatus.MISSING_REMOTE).exists()

    with pytest.raises(CommandError, match="run the pull again"):  # exit code 1
        call_command("fluentcart_pull", "--no-progress", stdout=io.StringIO())
    assert not Customer.objects.filter(sync_status=SyncStatus.MISSING_REMOTE).exists()


def test_a_fluentcart_that_ignores_the_id_range_stops_the_scan_before_anything_is_marked_deleted(fake, monkeypatch):
    """A host that dropped the ``search`` filter would answer every range with the first 199
    customers: the scan would look complete and every other customer deleted."""
    ids = seed(fake, 450)
    pulled_everything(fake)
    real = FluentCartClient.list_customers
    monkeypatch.setattr(
        FluentCartClient, "list_customers", lambda self, **kwargs: real(self, **{**kwargs, "search": None})
    )

    summary = pull(concurrency=2)

    assert not summary.complete and "id" in summary.error
    assert not Customer.objects.filter(sync_status=SyncStatus.MISSING_REMOTE).exists()
    assert Customer.objects.filter(fluentcart_id__in=ids, sync_status=SyncStatus.SYNCED).count() == 450


def test_progress_counts_against_every_customer_fluentcart_holds(fake):
    seed(fake, 450)
    totals, counted = [], []

    def on_page(page):
        totals.append(page.total)
        counted.append(len(page.customers))

    pull(concurrency=2, on_page=on_page)
    assert set(totals) == {450} and sum(counted) == 450


def test_local_rows_far_apart_are_all_checked_for_deletion(fake):
    """The search for customers deleted in FluentCart walks local primary keys in ranges: rows with
    a gap of thousands of ids between them (deleted here long ago) are still each checked."""
    near, far = seed(fake, 2)
    pulled_everything(fake)
    first, second = Customer.objects.order_by("pk")
    Customer.objects.filter(pk=second.pk).update(id=first.pk + 7_001)  # thousands of local ids apart
    fake.store.delete({near, far})

    summary = pull()

    assert summary.complete and summary.deleted_remotely == 2
    assert set(Customer.objects.values_list("sync_status", flat=True)) == {SyncStatus.MISSING_REMOTE}
