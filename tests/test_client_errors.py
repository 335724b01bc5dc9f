"""The client's choke point: every transport failure and odd answer becomes the error a push can act on."""

import http.client

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from fluentcart_sync import exceptions as exc
from fluentcart_sync.client import FluentCartClient

BASE = "https://shop.example.com/wp-json/fluent-cart/v2"


@pytest.fixture
def client():
    return FluentCartClient("https://shop.example.com", "admin", "abcd efgh ijkl mnop", timeout=(1.0, 2.0))


@responses.activate
@pytest.mark.parametrize("failure", [requests.exceptions.ConnectTimeout("connect timed out"),
                                     requests.exceptions.SSLError("certificate verify failed")])
def test_connect_timeout_and_tls_failure_never_reached_the_server(client, failure):
    responses.post(f"{BASE}/customers", body=failure)
    with pytest.raises(exc.FluentCartConnectError) as caught:
        client.create_customer({})
    assert not caught.value.may_have_reached_server and caught.value.transient


@responses.activate
def test_unresolvable_host_inside_retries_never_reached_the_server(client):
    pool_error = MaxRetryError(None, BASE, NewConnectionError(None, "Name or service not known"))
    responses.post(f"{BASE}/customers", body=requests.exceptions.ConnectionError(pool_error))
    with pytest.raises(exc.FluentCartConnectError) as caught:
        client.create_customer({})
    assert not caught.value.may_have_reached_server


@responses.activate
def test_dropped_connection_may_have_created_the_customer(client):
    dropped = ProtocolError("Connection aborted.", http.client.RemoteDisconnected("closed without response"))
    responses.post(f"{BASE}/customers", body=requests.exceptions.ConnectionError(dropped))
    with pytest.raises(exc.FluentCartTransportError) as caught:
        client.create_customer({})
    assert not isinstance(caught.value, exc.FluentCartConnectError)
    assert caught.value.may_have_reached_server
    assert "dropped during POST /customers" in str(caught.value)


@responses.activate
def test_any_other_requests_failure_is_a_transport_error(client):
    responses.get(f"{BASE}/customers", body=requests.exceptions.TooManyRedirects("30 redirects"))
    with pytest.raises(exc.FluentCartTransportError, match="GET /customers failed"):
        client.list_customers()


@responses.activate
def test_a_200_html_page_in_front_of_the_api_is_a_server_error(client):
    responses.post(f"{BASE}/customers", body="<html>Log in</html>", content_type="text/html")
    with pytest.raises(exc.FluentCartServerError, match="non-JSON page") as caught:
        client.create_customer({})
    assert caught.value.transient and caught.value.fluentcart_code is None


@responses.activate
def test_422_messages_as_lists_or_strings_are_kept_per_field(client):
    responses.post(f"{BASE}/customers", status=422,
                   json={"email": ["Email is invalid."], "full_name": "Name is required.", "odd": 5})
    with pytest.raises(exc.FluentCartValidationError) as caught:
        client.create_customer({})
    assert caught.value.field_errors == {"email": ["Email is invalid."], "full_name": ["Name is required."]}


@responses.activate
@pytest.mark.parametrize("header, expected", [("Wed, 21 Oct 2015 07:28:00 GMT", None), ("-5", 0.0), ("2.5", 2.5), ("", None)])
def test_retry_after_that_is_a_date_or_negative_does_not_break_the_backoff(client, header, expected):
    responses.post(f"{BASE}/customers", status=429, headers={"Retry-After": header})
    with pytest.raises(exc.FluentCartRateLimited) as caught:
        client.create_customer({})
    assert caught.value.retry_after == expected


@responses.activate
def test_503_with_retry_after_is_rate_limiting_and_without_it_a_server_error(client):
    responses.post(f"{BASE}/customers", status=503, headers={"Retry-After": "30"}, body="busy")
    responses.post(f"{BASE}/customers", status=503, body="busy")
    with pytest.raises(exc.FluentCartRateLimited):
        client.create_customer({})
    with pytest.raises(exc.FluentCartServerError) as caught:
        client.create_customer({})
    assert not isinstance(caught.value, exc.FluentCartRateLimited)
    assert caught.value.transient


@responses.activate
def test_other_4xx_is_a_bad_request_that_shows_the_remotes_message(client):
    responses.post(f"{BASE}/customers", status=400, json={"code": "rest_invalid_param", "message": "Invalid parameter(s): status"})
    responses.post(f"{BASE}/customers", status=409, body="")
    with pytest.raises(exc.FluentCartBadRequest) as caught:
        client.create_customer({})
    assert "Invalid parameter(s): status" in str(caught.value) and "HTTP 400" in str(caught.value)
    assert not caught.value.transient
    with pytest.raises(exc.FluentCartBadRequest, match=r"refused POST /customers \(HTTP 409\)"):
        client.create_customer({})


@responses.activate
def test_redirects_are_never_followed_and_are_a_configuration_error(client):
    responses.post(f"{BASE}/customers", status=301, headers={"Location": "https://shop.example.com/a-post/"})
    responses.get("https://shop.example.com/a-post/", body="<html></html>")
    with pytest.raises(exc.FluentCartWrongURL) as caught:
        client.create_customer({"email": "a@example.com"})
    assert isinstance(caught.value, exc.FluentCartRouteNotFound)  # a batch stops on it, as on rest_no_route
    assert "redirected to https://shop.example.com/a-post/" in str(caught.value)
    assert len(responses.calls) == 1


@responses.activate
def test_a_non_json_404_is_a_wrong_url_but_a_json_404_is_a_missing_record(client):
    responses.post(f"{BASE}/customers", status=404, body="<html>Not found</html>", content_type="text/html")
    with pytest.raises(exc.FluentCartWrongURL):
        client.create_customer({"email": "a@example.com"})
    responses.get(f"{BASE}/customers/7", status=404, json={"message": "Customer not found", "back_text": "Back"})
    with pytest.raises(exc.FluentCartNotFound):
        client.get_customer(7)
