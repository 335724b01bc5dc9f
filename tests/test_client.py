"""The HTTP layer: base URL, auth, timeouts, and every error shape FluentCart really sends."""

import json

import pytest
import requests
import responses

from fluentcart_sync import exceptions as exc
from fluentcart_sync.client import USER_AGENT, FluentCartClient, rest_base_url

BASE = "https://shop.example.com/wp-json/fluent-cart/v2"


@pytest.fixture
def client():
    return FluentCartClient("https://shop.example.com", "admin", "abcd efgh ijkl mnop", timeout=(1.0, 2.0))


@pytest.mark.parametrize(
    "site_url, expected",
    [
        ("https://shop.example.com", BASE),
        ("https://shop.example.com/", BASE),
        ("https://shop.example.com/wp-json/fluent-cart/v2", BASE),
        ("https://shop.example.com/wp-json/fluent-cart/v2/", BASE),
        ("https://example.com/shop", "https://example.com/shop/wp-json/fluent-cart/v2"),
    ],
)
def test_base_url_is_derived_from_the_site_url(site_url, expected):
    assert rest_base_url(site_url) == expected


@pytest.mark.parametrize("bad", ["", "shop.example.com", "ftp://shop.example.com"])
def test_unusable_site_url_is_a_configuration_error(bad):
    with pytest.raises(exc.FluentCartConfigurationError):
        rest_base_url(bad)


@responses.activate
def test_requests_carry_basic_auth_user_agent_and_timeouts(client, monkeypatch):
    seen = {}
    original = requests.Session.request

    def spy(self, method, url, **kwargs):
        seen["timeout"] = kwargs.get("timeout")
        return original(self, method, url, **kwargs)

    monkeypatch.setattr(requests.Session, "request", spy)
    responses.post(f"{BASE}/customers", json={"message": "Customer created successfully!", "data": {"id": 7}})
    assert client.create_customer({"email": "a@example.com"})["id"] == 7
    sent = responses.calls[0].request
    assert sent.headers["Authorization"].startswith("Basic ")
    assert sent.headers["User-Agent"] == USER_AGENT
    assert seen["timeout"] == (1.0, 2.0)


def test_repr_never_shows_the_password(client):
    assert "abcd" not in repr(client)


@responses.activate
def test_duplicate_email_422_is_its_own_error(client):
    responses.post(f"{BASE}/customers", status=422, json={"email": {"exist": "Email already exists."}})
    with pytest.raises(exc.FluentCartDuplicateEmail) as caught:
        client.create_customer({"email": "a@example.com"})
    assert caught.value.field_errors == {"email": ["Email already exists."]}


@responses.activate
def test_validation_422_keeps_each_fields_messages(client):
    responses.post(
        f"{BASE}/customers", status=422,
        json={"full_name": {"sanitizeText": "The full_name must be a valid text"},
              "email": {"email": "Email must be a valid email address."}},
    )
    with pytest.raises(exc.FluentCartValidationError) as caught:
        client.create_customer({})
    assert not isinstance(caught.value, exc.FluentCartDuplicateEmail)
    assert caught.value.field_errors == {
        "full_name": ["The full_name must be a valid text"], "email": ["Email must be a valid email address."]}
    assert "full_name: The full_name must be a valid text" in str(caught.value)


@responses.activate
def test_invalid_email_alongside_exist_is_a_validation_error_not_a_duplicate(client):
    responses.post(f"{BASE}/customers", status=422,
                   json={"email": {"email": "Email must be a valid email address.", "exist": "Email already exists."}})
    with pytest.raises(exc.FluentCartValidationError) as caught:
        client.create_customer({})
    assert not isinstance(caught.value, exc.FluentCartDuplicateEmail)


@pytest.mark.parametrize(
    "status, body, error, code",
    [
        (500, {"code": 423, "message": "Failed to create user.", "data": None}, exc.FluentCartServerError, 423),
        (500, {"code": 400, "message": "Customer already exists.", "data": None}, exc.FluentCartServerError, 400),
        (500, {"code": "plugin_exception", "data": [], "message": "An internal error occurred."}, exc.FluentCartServerError, None),
        (502, None, exc.FluentCartServerError, None),
    ],
)
@responses.activate
def test_5xx_bodies_carry_fluentcarts_integer_code(client, status, body, error, code):
    if body is None:
        responses.post(f"{BASE}/customers", status=status, body="<html>Bad gateway</html>")
    else:
        responses.post(f"{BASE}/customers", status=status, json=body)
    with pytest.raises(error) as caught:
        client.create_customer({})
    assert caught.value.fluentcart_code == code
    assert caught.value.transient


@pytest.mark.parametrize(
    "status, body, error, hint",
    [
        (401, {"code": "rest_forbidden", "message": "Sorry, you are not allowed to do that.", "data": {"status": 401}},
         exc.FluentCartAuthError, "FLUENTCART_APP_PASSWORD"),
        (403, {"code": "rest_forbidden", "message": "Sorry, you are not allowed to do that.", "data": {"status": 403}},
         exc.FluentCartPermissionError, "permissions"),
        (404, {"code": "rest_no_route", "message": "No route was found matching the URL and request method.",
               "data": {"status": 404}}, exc.FluentCartRouteNotFound, "FLUENTCART_URL"),
    ],
)
@responses.activate
def test_configuration_failures_name_the_setting_to_check(client, status, body, error, hint):
    responses.get(f"{BASE}/customers", status=status, json=body)
    with pytest.raises(error) as caught:
        client.list_customers()
    assert hint in str(caught.value)
    assert "abcd" not in str(caught.value)


@responses.activate
def test_unknown_customer_id_is_not_found(client):
    responses.get(f"{BASE}/customers/99", status=404, json={
        "data": {"message": "Customer not found"}, "code": "fluent_cart_entity_not_found"})
    with pytest.raises(exc.FluentCartNotFound):
        client.get_customer(99)


@responses.activate
def test_429_carries_retry_after(client):
    responses.post(f"{BASE}/customers", status=429, headers={"Retry-After": "17"}, body="slow down")
    with pytest.raises(exc.FluentCartRateLimited) as caught:
        client.create_customer({})
    assert caught.value.retry_after == 17


@responses.activate
def test_read_timeout_may_have_reached_the_server(client):
    responses.post(f"{BASE}/customers", body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(exc.FluentCartTimeout) as caught:
        client.create_customer({})
    assert caught.value.may_have_reached_server


def test_refused_connection_never_reached_the_server():
    refused = FluentCartClient("http://127.0.0.1:9", "u", "p", timeout=(0.5, 0.5))
    with pytest.raises(exc.FluentCartConnectError) as caught:
        refused.list_customers()
    assert not caught.value.may_have_reached_server


@responses.activate
def test_update_puts_the_id_in_the_body(client):
    responses.put(f"{BASE}/customers/5", json={"message": "Customer updated successfully!", "data": {"id": 5}})
    client.update_customer(5, {"email": "a@example.com", "full_name": "A B"})
    assert json.loads(responses.calls[0].request.body)["id"] == 5


def _page(rows, page, last_page):
    return {"customers": {"current_page": page, "data": rows, "last_page": last_page, "per_page": 199,
                          "total": 999}}


@responses.activate
def test_find_by_email_reads_every_page_and_matches_exactly_ignoring_case(client):
    # FluentCart's search is a substring match with "_" as a wildcard: only exact emails count, and
    # the search term is the whole email (any part of it would match more).
    responses.get(f"{BASE}/customers", match=[responses.matchers.query_param_matcher(
        {"page": "1", "per_page": "199", "sort_type": "asc", "search": "jane_smith@example.com"})],
        json=_page([{"id": 3, "email": "jane.smith@example.com"}, {"id": 4, "email": "xjane_smith@example.com"}], 1, 2))
    responses.get(f"{BASE}/customers", match=[responses.matchers.query_param_matcher(
        {"page": "2", "per_page": "199", "sort_type": "asc", "search": "jane_smith@example.com"})],
        json=_page([{"id": 9, "email": "JANE_SMITH@example.com"}, {"id": 8, "email": "jane_smith@example.com"}], 2, 2))
    found = client.find_by_email("jane_smith@example.com")
    assert [c["id"] for c in found] == [8, 9]


def test_the_environment_is_read_once_when_the_client_is_built(monkeypatch):
    """Proxies and the CA bundle come from the environment as requests would take them, read when
    the client is built: requests' own scan of every environment variable on each request is off."""
    for name in ("HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/private-ca.pem")
    client = FluentCartClient("https://shop.example.com", "admin", "abcd efgh ijkl mnop")
    assert client.session.proxies["https"] == "http://proxy.internal:3128"
    assert client.session.verify == "/etc/ssl/private-ca.pem"
    assert client.session.trust_env is False

    monkeypatch.setenv("NO_PROXY", "shop.example.com")
    assert "https" not in FluentCartClient("https://shop.example.com", "admin", "abcd").session.proxies
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    assert FluentCartClient("https://shop.example.com", "admin", "abcd").session.verify is True


@responses.activate
def test_a_request_does_not_read_the_environment(client, monkeypatch):
    def scanned(*args, **kwargs):
        raise AssertionError("the environment was read during a request")

    monkeypatch.setattr(requests.utils, "get_environ_proxies", scanned)
    monkeypatch.setattr(requests.sessions, "get_environ_proxies", scanned)
    responses.post(f"{BASE}/customers", json={"message": "Customer created successfully!", "data": {"id": 7}})
    assert client.create_customer({"email": "a@example.com"})["id"] == 7
