"""The app's public service API, in one place for host code: push one customer, and provision
the customer of a user. The work is done in modules with one job each:

- ``payloads``: what a push sends, and the local validation run before sending;
- ``claims``: the sync state machine's writes (claim, remember a POST, record, release);
- ``push``: the decision for one customer and the requests it makes;
- ``batch``: many customers at once; ``users``: customers for Django users;
- ``circuit``: pausing every push while FluentCart refuses the configuration.
"""

from __future__ import annotations

from .claims import claim_and_read, release, retry_delay
from .outcomes import Outcome, PushResult
from .payloads import PUSHED_FIELDS, build_payload, build_update_body, payload_fingerprint, remote_differs
from .push import push_customer
from .users import customer_for_user

__all__ = [
    "PUSHED_FIELDS",
    "Outcome",
    "PushResult",
    "build_payload",
    "build_update_body",
    "claim_and_read",
    "customer_for_user",
    "payload_fingerprint",
    "push_customer",
    "release",
    "remote_differs",
    "retry_delay",
]
