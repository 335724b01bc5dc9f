"""A person (or host code) editing customers while the sync runs: a thread that keeps saving random
customers through the ordinary ``save()``, as the admin and forms do."""

from __future__ import annotations

import random
import threading

from django.db import close_old_connections, connections

from fluentcart_sync.models import Customer


class Editor:
    """``with Editor(ids):`` edits random customers until the block ends; ``edits`` counts them."""

    def __init__(self, customer_ids: list[int], *, seed: int = 1, pause: float = 0.005, delete_every: int = 0):
        self.customer_ids = list(customer_ids)
        self.random = random.Random(seed)
        self.pause = pause
        #: Every this many edits, the customer is deleted instead (0: never); ``deleted`` lists them.
        self.delete_every = delete_every
        self.deleted: list[int] = []
        self.edits = 0
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="editor", daemon=True)

    def __enter__(self) -> Editor:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread.ident is not None:  # started
            self._thread.join(30)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.pause):
                self.edit_one()
        except BaseException as err:  # handed to the test
            self.errors.append(err)
        finally:
            connections.close_all()

    def edit_one(self) -> None:
        close_old_connections()
        customer = Customer.objects.get(pk=self.random.choice(self.customer_ids))
        self.edits += 1
        if self.delete_every and self.edits % self.delete_every == 0:
            self.customer_ids.remove(customer.pk)
            self.deleted.append(customer.pk)
            customer.delete()
            return
        customer.city = f"City {self.edits}"
        if self.edits % 3 == 0:
            customer.notes = f"Edit {self.edits}"
        if self.edits % 5 == 0:
            customer.email = f"edited{self.edits}-{customer.pk}@example.com"
        customer.save()


#: The change form's fields, as a browser posts them.
FORM_FIELDS = ("email", "full_name", "first_name", "last_name", "status", "notes", "city", "state", "postcode", "country")


class AdminFormEditor(Editor):
    """Staff editing in the admin: each edit opens a change form (reads the row as the form shows
    it), waits a moment (a pull may land meanwhile), then posts it back with the form's hidden
    initial values and a new city, as a browser does. ``refused`` counts the saves the admin
    refused because the city changed (or the customer was deleted) while the form was open."""

    def __init__(self, customer_ids: list[int], client, **kwargs):
        super().__init__(customer_ids, **kwargs)
        self.client = client
        self.refused = 0

    def edit_one(self) -> None:
        from django.urls import reverse

        close_old_connections()
        pk = self.random.choice(self.customer_ids)
        shown = Customer.objects.filter(pk=pk).values(*FORM_FIELDS).first()
        if shown is None:
            return  # deleted meanwhile
        self._stop.wait(self.pause * 4)  # the form is open
        self.edits += 1
        data = {name: value or "" for name, value in shown.items()}
        data.update({f"initial-{name}": value for name, value in data.items()}, user="")
        data["city"] = f"Form city {self.edits}"
        response = self.client.post(reverse("admin:fluentcart_sync_customer_change", args=[pk]), data)
        if response.status_code == 200 and (
            b"changed while you edited it" in response.content or b"deleted while you edited it" in response.content
        ):
            self.refused += 1
        elif response.status_code != 302:  # a customer deleted while the form was open also redirects
            raise AssertionError(f"admin save of customer {pk}: HTTP {response.status_code}")


class Puller(Editor):
    """``fluentcart_pull`` run again and again; a pull that ends early (the faults) is run again."""

    def edit_one(self) -> None:
        import io

        from django.core.management import call_command
        from django.core.management.base import CommandError

        close_old_connections()
        try:
            call_command("fluentcart_pull", "--no-progress", stdout=io.StringIO(), stderr=io.StringIO())
            self.edits += 1
        except CommandError:
            pass
