"""Authentication, the steering modes, unknown routes and the PHP-style JSON encoding."""

import json

import pytest

from fluentcart_sync.sandbox import FakeFluentCart, encode

from .conftest import basic

UNAUTHORIZED = b'{"code":"rest_forbidden","message":"Sorry, you are not allowed to do that.","data":{"status":401}}'
FORBIDDEN = b'{"code":"rest_forbidden","message":"Sorry, you are not allowed to do that.","data":{"status":403}}'
NO_ROUTE = (
    b'{"code":"rest_no_route","message":"No route was found matching the URL and request method.",'
    b'"data":{"status":404,"wpfluent":{"env":"production"}}}'
)


@pytest.mark.parametrize(
    "auth",
    [None, basic(password="wrong"), basic(user="nobody"), "Bearer abc", "Basic !!notbase64", basic(password="")],
)
def test_bad_or_missing_credentials_are_the_same_401(call, fake, auth):
    assert call("POST", "/customers", {"email": "x@example.com", "full_name": "X"}, auth=auth)[::2] == (401, UNAUTHORIZED)
    assert fake.count() == 0


@pytest.mark.parametrize("auth", [basic(), basic("admin@example.com"), basic(password="demoapppassword1234")])
def test_login_or_email_and_password_with_or_without_spaces(call, auth):
    assert call("GET", "/customers", auth=auth)[0] == 200


def test_auth_wins_over_validation(call):
    assert call("POST", "/customers", {}, auth=None)[0] == 401


def test_forbidden_mode(call, fake):
    fake.mode = "forbidden"
    assert call("POST", "/customers", {})[::2] == (403, FORBIDDEN)
    assert call("GET", "/customers", auth=None)[0] == 401


def test_unauthorized_mode(call, fake):
    fake.mode = "unauthorized"
    assert call("GET", "/customers")[::2] == (401, UNAUTHORIZED)
    assert call("GET", "/nothing/here")[0] == 401


def test_no_route_mode_is_404_everywhere(call, fake):
    fake.mode = "no_route"
    status, _, body = call("GET", "/customers")
    assert status == 404 and json.loads(body)["code"] == "rest_no_route"
    assert call("POST", "/customers", {"email": "a@example.com", "full_name": "A"})[0] == 404
    assert fake.count() == 0


@pytest.mark.parametrize(
    ("method", "route"),
    [("DELETE", "/customers/1"), ("POST", "/customers/1"), ("GET", "/orders"), ("PATCH", "/customers"),
     ("GET", "/customers/1/nothing")],
)
def test_unknown_routes_are_rest_no_route(call, method, route):
    assert call(method, route)[::2] == (404, NO_ROUTE)


def test_other_namespace_is_rest_no_route(fake):
    status, _, body = fake.handle("GET", "https://shop.example.com/wp-json/fluent-cart/v3/customers", {}, b"")
    assert (status, body) == (404, NO_ROUTE)


def test_a_non_rest_url_is_an_html_404(fake):
    status, headers, body = fake.handle("GET", "https://shop.example.com/api/customers", {}, b"")
    assert status == 404 and headers["Content-Type"].startswith("text/html")


def test_php_style_json_encoding(call):
    status, _, body = call("POST", "/customers", {"email": "zoe@example.com", "full_name": "Zoë 😀 A/B"})
    assert status == 200
    assert b'"full_name":"Zo\\u00eb \\ud83d\\ude00 A\\/B"' in body
    assert encode({"a": "/é"}) == b'{"a":"\\/\\u00e9"}'
    assert body.decode("ascii")


def test_request_log_records_method_route_and_body(call, fake):
    call("POST", "/customers", {"email": "a@example.com", "full_name": "A"})
    call("GET", "/customers?search=a%40example.com")
    assert fake.requests_seen[0] == ("POST", "/customers", {"email": "a@example.com", "full_name": "A"})
    seen = fake.requests_seen[-1]
    assert (seen.method, seen.path, seen.query, seen.status) == ("GET", "/customers", {"search": "a@example.com"}, 200)


def test_reset_forgets_customers_and_log(call, fake):
    call("POST", "/customers", {"email": "a@example.com", "full_name": "A"})
    fake.reset()
    assert fake.count() == 0 and not fake.requests_seen
    _, data = call.json("POST", "/customers", {"email": "a@example.com", "full_name": "A"})
    assert data["data"]["id"] == 1


def test_persistence_across_instances(tmp_path):
    path = tmp_path / "fc.sqlite3"
    first = FakeFluentCart(db_path=str(path))
    first.create_customer(email="kept@example.com", full_name="Kept Here", status="active")
    first.close()
    second = FakeFluentCart(db_path=str(path))
    try:
        assert [(row["id"], row["email"], row["status"]) for row in second.customers()] == [(1, "kept@example.com", "active")]
        assert second.create_customer(email="next@example.com", full_name="N")["id"] == 2
    finally:
        second.close()


def test_sandbox_imports_without_django_settings():
    import subprocess
    import sys

    code = (
        "import sys, fluentcart_sync.sandbox as s; s.FakeFluentCart().count();"
        "assert 'django' not in sys.modules and 'requests' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={"PYTHONPATH": "."}, cwd=_repo_root())


def _repo_root():
    import pathlib

    return str(pathlib.Path(__file__).resolve().parents[2])


def test_request_log_compares_to_a_list(call, fake):
    assert fake.requests_seen == []
    call("GET", "/customers")
    assert fake.requests_seen == [("GET", "/customers", {})]


def test_faults_can_be_changed_in_place_or_by_copy(call, fake):
    fake.faults.rate_limit_rate = 1.0
    assert call("GET", "/customers")[0] == 429
    fake.faults = fake.faults.updated({"rate_limit_rate": "0", "serialize": "true", "latency": 0})
    assert fake.faults.serialize is True and fake.faults.rate_limit_rate == 0.0
    assert call("GET", "/customers")[0] == 200
