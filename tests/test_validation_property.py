"""One source of truth for the validation rules: what `Customer.full_clean()` accepts, the shipped fake
FluentCart stores unchanged (every field read back equal). Equivalently, whatever the fake refuses or
rewrites, `full_clean()` refuses.

The fake's rules are pinned to the live FluentCart 1.5.2 by tests/sandbox (the contract's verbatim
answers) and by the anchors below; this property pins the app's validation to the fake. Random
strings over a nasty alphabet (multi-byte, "%", "<", line breaks, NUL, odd spaces), seeded so a
failure replays.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from fluentcart_sync.models import Customer
from fluentcart_sync.sandbox import FakeFluentCart

from .sandbox.conftest import BASE, SITE, basic

pytestmark = pytest.mark.django_db

CASES = 3000
SEED = 1114
ALPHABET = "aZ09 -'&>.,;%4Ae1f<b/\n\t\r\x00\x0b\xa0\u3000éßЖ李😀\u200b"
WORD = "aZ09-'&>.%4Ae1féßЖ李😀"  # no whitespace: a last name FluentCart's last-space split keeps whole
EMAIL_LOCAL = "abcXYZ019._%+-!#$&'*/=?^`{|}~"
DOMAINS = ("example.com", "mail.example.org", "ex-ample.co.uk", "example.com", "exämple.com", "localhost", "a..b.com")
HEADERS = {"Authorization": basic(), "Content-Type": "application/json"}
COMPARED = ("email", "first_name", "last_name", "full_name", "status", "country", "city", "state", "postcode", "notes")


def _text(rng: random.Random, alphabet: str, low: int, high: int) -> str:
    # Most strings draw from the tame part of the alphabet, so that both outcomes stay common.
    if rng.random() < 0.75:
        alphabet = "".join(char for char in alphabet if char.isalnum() or char in " -'.") or alphabet
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(low, high)))


def _customer_fields(rng: random.Random) -> dict[str, Any]:
    local = _text(rng, EMAIL_LOCAL, 1, 12) if rng.random() < 0.3 else _text(rng, "abcXYZ019", 1, 12)
    email = local + "@" + rng.choice(DOMAINS)
    if rng.random() < 0.1:
        email = rng.choice(["%41", " ", "é", "<", "%2"]).join([email[:3], email[3:]])
    fields: dict[str, Any] = {"email": email, "status": rng.choice(["active", "inactive"])}
    long_name = rng.random() < 0.1
    if rng.random() < 0.6:
        # The signup way: one full name, split on its last space as FluentCart does.
        fields["full_name"] = "李" * rng.randint(80, 110) if long_name else _text(rng, ALPHABET, 1, 30)
    else:
        # The admin way: a first name (starting with a word, so it never folds away to nothing),
        # and a one-word last name. Only-a-last-name and a last name with a space are gaps: see README.
        first = _text(rng, WORD, 1, 1) + _text(rng, ALPHABET, 0, 19)
        fields["first_name"] = first if not long_name else "é" * rng.randint(90, 130)
        fields["last_name"] = _text(rng, WORD, 1, 20)
    for key in ("city", "state", "postcode", "country"):
        if rng.random() < 0.5:
            fields[key] = _text(rng, ALPHABET, 0, 46)
    if rng.random() < 0.7:
        fields["notes"] = _text(rng, ALPHABET, 0, 60)
    return fields


def _payload(customer: Customer) -> dict[str, Any]:
    """What the app sends for a cleaned customer (contract §12: every field, blank address parts as null)."""
    return {
        "email": customer.email,
        "full_name": customer.full_name,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "status": customer.status,
        "country": customer.country or None,
        "city": customer.city or None,
        "state": customer.state or None,
        "postcode": customer.postcode or None,
        "notes": customer.notes or "",
    }


def _push(fake: FakeFluentCart, payload: dict[str, Any]) -> tuple[int, Any]:
    status, _, body = fake.handle("POST", SITE + BASE + "/customers", HEADERS, json.dumps(payload).encode())
    return status, json.loads(body)


def test_what_full_clean_accepts_the_fake_stores_unchanged():
    fake = FakeFluentCart(site_url=SITE)
    rng = random.Random(SEED)
    accepted = refused = stricter = 0
    try:
        for case in range(CASES):
            fields = _customer_fields(rng)
            customer = Customer(**fields)
            try:
                customer.full_clean()
            except ValidationError:
                refused += 1
                customer.normalise()
                payload = _payload(customer)
                fake.reset()
                status, answer = _push(fake, payload)
                if status == 200 and all(
                    fake.customers()[0][key] == payload[key] for key in COMPARED if payload[key] is not None
                ):
                    stricter += 1  # refused here, stored unchanged there: allowed, counted below
                continue
            accepted += 1
            if not customer.full_name:
                continue  # a nameless customer is held back by the push itself, never sent
            payload = _payload(customer)
            fake.reset()
            status, answer = _push(fake, payload)
            assert status == 200, f"case {case}: full_clean accepted {fields!r}, the fake answered {status} {answer}"
            stored = fake.customers()[0]
            for key in COMPARED:
                assert stored[key] == payload[key], (
                    f"case {case}: full_clean accepted {fields!r}; FluentCart stores {key}={stored[key]!r},"
                    f" the app holds {payload[key]!r}"
                )
    finally:
        fake.close()
    # Not vacuous: both sides of the rule are exercised, and the app is not refusing nearly everything.
    assert accepted > CASES * 0.2 and refused > CASES * 0.2, (accepted, refused)
    print(f"accepted {accepted}, refused {refused}, of which the fake would have stored unchanged {stricter}")
    assert stricter < refused * 0.5, (stricter, refused)


# -- anchors: the fake's rules are the live ones (contract §6.3, issue 11) -------------------------------


def test_anchor_notes_are_rewritten_like_the_live_site():
    fake = FakeFluentCart(site_url=SITE)
    status, _ = _push(fake, {"email": "n@example.com", "full_name": "N N", "notes": "Line one\nLine two: <b>VIP</b>, 100%25 sure"})
    assert status == 200 and fake.customers()[0]["notes"] == "Line one Line two: VIP, 100 sure"
    fake.close()


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        ({"email": "x%41y@example.com", "full_name": "A B"}, {"email": {"sanitizeText": "The email must be a valid text"}}),
        (
            {"email": "z@example.com", "full_name": "李" * 103},
            {"full_name": {"maxLength": "The full_name must not be greater than 255 characters."}},
        ),
    ],
)
def test_anchor_refusals_match_the_live_site(payload, errors):
    fake = FakeFluentCart(site_url=SITE)
    assert _push(fake, payload) == (422, errors)
    fake.close()
