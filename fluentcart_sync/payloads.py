"""What a push sends: the POST and PUT bodies, the fingerprint of what FluentCart holds, the local
validation run before anything is sent, and the one way field errors are summarised for people."""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import datetime
from datetime import timezone as dt_timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.module_loading import import_string

from .conf import app_settings
from .exceptions import FluentCartPayloadHookError
from .models import PUSHED_MODEL_FIELDS, Customer

#: The fields this app owns in FluentCart. Everything else on the remote record is preserved.
PUSHED_FIELDS = PUSHED_MODEL_FIELDS


def build_payload(customer: Customer) -> dict[str, Any]:
    """The POST body: every field FluentCart stores, status always (it stores NULL otherwise),
    all three name fields (valid in full-name and first/last-name mode), never ``wp_user``; then
    the host's ``PAYLOAD_HOOK``, if any (raises ``FluentCartPayloadHookError`` when it fails)."""
    customer.normalise()
    payload: dict[str, Any] = {
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
    if app_settings.SEND_USER_ID and customer.user_id:
        # Opt-in only: FluentCart links this WordPress user id without any check.
        payload["user_id"] = customer.user_id
    return _apply_payload_hook(customer, payload) if app_settings.PAYLOAD_HOOK else payload


def _apply_payload_hook(customer: Customer, payload: dict[str, Any]) -> dict[str, Any]:
    path = app_settings.PAYLOAD_HOOK
    try:
        hook = import_string(path) if isinstance(path, str) else path
        result = hook(customer, dict(payload))
    except Exception as err:
        raise FluentCartPayloadHookError(f"PAYLOAD_HOOK {path!r} failed: {type(err).__name__}: {err}") from err
    if not isinstance(result, dict) or any(name not in result for name in payload):
        raise FluentCartPayloadHookError(
            f"PAYLOAD_HOOK {path!r} must return the payload it was given (a dict with every field it had), "
            f"not {type(result).__name__}"
        )
    return result


def payload_fingerprint(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=True).encode()).hexdigest()


def fingerprint_of_record(customer: Customer, record: dict[str, Any]) -> str:
    """The fingerprint FluentCart's ``record`` would have as this customer's payload: equal to
    ``synced_fingerprint`` when FluentCart holds exactly what was last pushed."""
    from .merge import model_value

    twin = Customer(pk=customer.pk, user_id=customer.user_id)
    for name in PUSHED_FIELDS:
        setattr(twin, name, model_value(name, record.get(name)))
    try:
        return payload_fingerprint(build_payload(twin))
    except FluentCartPayloadHookError:
        return ""


def build_update_body(payload: dict[str, Any], remote: dict[str, Any]) -> dict[str, Any]:
    """A PUT replaces the whole record: start from what FluentCart holds, so the fields this app
    does not manage (the WordPress user link, aov) survive, then lay our fields over it."""
    body: dict[str, Any] = {}
    if remote.get("user_id") not in (None, "", "0", 0):
        body["user_id"] = int(remote["user_id"])
    if remote.get("aov") is not None:
        body["aov"] = remote["aov"]
    body.update(payload)
    return body


def text(value: Any) -> str:
    """A field's value as text: None is empty, surrounding white space is not part of it."""
    return "" if value is None else str(value).strip()


def same_value(name: str, ours: Any, theirs: Any) -> bool:
    """Equal as FluentCart sees it: emails ignoring case, empty and null alike."""
    if name == "email":
        return text(ours).lower() == text(theirs).lower()
    return text(ours) == text(theirs)


def differing_fields(payload: dict[str, Any], remote: dict[str, Any]) -> list[str]:
    """The pushed fields whose value in ``remote`` differs from ``payload``."""
    return [name for name in PUSHED_FIELDS if not same_value(name, payload[name], remote.get(name))]


def remote_differs(payload: dict[str, Any], remote: dict[str, Any]) -> bool:
    """True when FluentCart's record differs from ``payload`` in a field this app pushes
    (email ignoring case; empty and null alike)."""
    return bool(differing_fields(payload, remote))


#: The verdicts of ``local_field_errors`` by the values they judged, so that a retry of the same data
#: (the sweep, a push that goes round again) is not validated again; bounded, as the sweep runs for days.
_verdicts: dict[tuple, dict[str, list[str]]] = {}
_VERDICTS_KEPT = 4096


def local_field_errors(customer: Customer) -> dict[str, list[str]]:
    """The validation FluentCart would apply, run here so nothing is sent that it would refuse or cut.
    In English whatever the active language: the messages are recorded on the row, as data.

    Only the pushed fields are validated (the rest is not sent, and the sync columns are the engine's),
    and the verdict depends on nothing else, so it is computed once per distinct data.
    """
    customer.normalise()  # as clean_fields() does first: the key is the data as it would be judged
    data = customer.pushed_data()
    verdict = _verdicts.get(data) if data is not None else None
    if verdict is None:
        verdict = _validate(customer)
        if data is not None:
            if len(_verdicts) >= _VERDICTS_KEPT:
                _verdicts.clear()
            _verdicts[data] = verdict
    return {name: list(messages) for name, messages in verdict.items()}


def _validate(customer: Customer) -> dict[str, list[str]]:
    try:
        with translation.override("en"):
            customer.clean_fields(exclude=_not_pushed())
    except ValidationError as err:
        with translation.override("en"):
            return {name: [str(m) for m in messages] for name, messages in err.message_dict.items()}
    if not customer.full_name:
        return {"full_name": ["A name is required: FluentCart refuses customers without one."]}
    return {}


@functools.cache
def _not_pushed() -> frozenset[str]:
    return frozenset(field.name for field in Customer._meta.fields if field.name not in PUSHED_FIELDS)


def purchase_figures(remote: dict[str, Any]) -> dict[str, Any]:
    """What the customer bought, from a FluentCart record: ``purchase_count``, ``ltv`` (cents, as
    FluentCart gives it), and the first and last purchase dates (``"YYYY-MM-DD HH:MM:SS"``, UTC)."""
    figures: dict[str, Any] = {}
    if "purchase_count" in remote:
        figures["purchase_count"] = _integer(remote.get("purchase_count"))
    if "ltv" in remote:
        figures["lifetime_value"] = _integer(remote.get("ltv"))
    for source, target in (("first_purchase_date", "first_purchase_at"), ("last_purchase_date", "last_purchase_at")):
        if source in remote:
            figures[target] = _moment(remote.get(source))
    return figures


def _integer(value: Any) -> int | None:
    try:
        return int(Decimal(str(value))) if value not in (None, "") else None
    except (InvalidOperation, ValueError):
        return None


def _moment(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace(" ", "T"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt_timezone.utc)


def summarise(prefix: str, field_errors: dict[str, list[str]]) -> str:
    """``"prefix: field: message; field: message"``: the one format of field errors in messages."""
    return prefix + ": " + "; ".join(f"{name}: {' '.join(messages)}" for name, messages in field_errors.items())
