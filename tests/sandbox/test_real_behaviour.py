"""The fake answers as FluentCart 1.5.2 does: one test per row of issue 14's table (status and body,
verbatim from the live site), then the Allow headers and the user without FluentCart permissions."""

import json
from urllib.parse import urlencode

import pytest
import requests
import responses

from fluentcart_sync.sandbox import FakeFluentCart, SandboxServer

from .conftest import BASE, SITE, basic

PLUGIN_EXCEPTION = b'{"code":"plugin_exception","data":[],"message":"An internal error occurred."}'
FORBIDDEN = b'{"code":"rest_forbidden","message":"Sorry, you are not allowed to do that.","data":{"status":403}}'
BOTH_REQUIRED = b'{"full_name":{"required":"Full Name is required."},"email":{"required":"Email is required."}}'
JANE = {"email": "jane@example.com", "full_name": "Jane Smith"}


def post_raw(fake, body: bytes, content_type: str, route: str = "/customers"):
    return fake.handle("POST", SITE + BASE + route, {"Authorization": basic(), "Content-Type": content_type}, body)


def test_row_01_lone_surrogate_is_invalid_json_code_10(fake):
    status, _, body = post_raw(fake, b'{"email": "\\ud800"}', "application/json")
    assert (status, body) == (
        400,
        b'{"code":"rest_invalid_json","message":"Invalid JSON body passed.","data":{"status":400,'
        b'"json_error_code":10,"json_error_message":"Single unpaired UTF-16 surrogate in unicode escape"}}',
    )


def test_row_02_nan_is_a_json_syntax_error(fake):
    status, _, body = post_raw(fake, b'{"email": NaN}', "application/json")
    assert (status, body) == (
        400,
        b'{"code":"rest_invalid_json","message":"Invalid JSON body passed.","data":{"status":400,'
        b'"json_error_code":4,"json_error_message":"Syntax error"}}',
    )


def test_row_03_infinite_numbers_are_text_not_a_crash(fake):
    status, _, body = post_raw(fake, b'{"email": 1e999, "full_name": "A B", "user_id": 1e999}', "application/json")
    assert (status, body) == (422, b'{"email":{"email":"Email must be a valid email address."}}')


def test_row_04_text_plain_body_that_is_not_json_is_not_read(fake):
    status, _, body = post_raw(fake, b'{"email": ', "text/plain")
    assert (status, body) == (422, BOTH_REQUIRED)


def test_row_05_json_body_sent_as_a_form_is_read_as_json(fake):
    status, _, body = post_raw(fake, json.dumps(JANE).encode(), "application/x-www-form-urlencoded")
    assert status == 200
    assert json.loads(body)["message"] == "Customer created successfully!"
    assert fake.customers()[0]["email"] == "jane@example.com"


def test_row_06_long_city_is_accepted_echoed_and_stored_cut_to_45(call, fake):
    status, data = call.json("POST", "/customers", dict(JANE, city="c" * 300))
    assert status == 200
    assert data["data"]["city"] == "c" * 300
    assert fake.customers()[0]["city"] == "c" * 45


def test_row_07_null_notes_crash_fluentcart(call, fake):
    status, _, body = call("POST", "/customers", dict(JANE, notes=None))
    assert (status, body) == (500, PLUGIN_EXCEPTION)
    assert fake.count() == 0


def test_row_08_scalars_are_cast_like_php(call, fake):
    sent = dict(JANE, aov="12", user_id="abc", city=0, status="bogus")
    status, data = call.json("POST", "/customers", sent)
    assert status == 200
    created = data["data"]
    assert (created["user_id"], created["city"], created["status"], created["aov"]) == (0, "0", "bogus", "12")
    stored = fake.customers()[0]
    assert (stored["user_id"], stored["city"], stored["status"]) == ("0", "0", "bogus")
    assert stored["user_link"] == ""


def test_row_09_post_carrying_an_existing_id_and_its_email(call, fake):
    call("POST", "/customers", JANE)
    status, _, body = call("POST", "/customers", dict(JANE, id=1))
    assert (status, body) == (500, b'{"code":400,"message":"Customer already exists.","data":null}')
    assert fake.count() == 1


@pytest.mark.parametrize(
    ("route", "headers"),
    [("/customers/1", {"X-HTTP-Method-Override": "PUT"}), ("/customers/1?_method=PUT", {})],
)
def test_row_10_method_override_is_the_put(call, fake, route, headers):
    call("POST", "/customers", JANE)
    status, data = call.json("POST", route, {"id": 1, "email": "jane@example.com", "full_name": "Jane Q"}, headers=headers)
    assert status == 200
    assert data["message"] == "Customer updated successfully!"
    assert fake.customers()[0]["first_name"] == "Jane"
    assert fake.customers()[0]["last_name"] == "Q"


def test_row_11_put_on_a_non_numeric_id(call):
    status, _, body = call("PUT", "/customers/abc", {"email": "new@example.com", "full_name": "New One"})
    assert (status, body) == (
        500,
        b'{"code":400,"message":"Customer not found, please reload the page and try again!","data":null}',
    )


def test_row_12_put_on_a_customer_linked_to_a_missing_wordpress_user(call, fake):
    # FluentCart links any user_id on create without checking that the WordPress user exists.
    call("POST", "/customers", dict(JANE, user_id=99))
    status, _, body = call("PUT", "/customers/1", {"id": 1, "user_id": 99, "email": "jane@example.com", "full_name": "J Q"})
    assert (status, body) == (500, b'{"code":423,"message":"Failed to update user.","data":null}')
    assert fake.customers()[0]["last_name"] == "Smith"


def test_row_13_bulk_delete_of_an_unknown_id(call):
    status, _, body = call("POST", "/customers/do-bulk-action", {"action": "delete_customers", "customer_ids": [999999]})
    assert (status, body) == (500, b'{"code":400,"message":"Customer update failed.","data":null}')


def test_row_14_bulk_delete_with_ids_that_are_not_a_list(call, fake):
    for _ in range(5):
        fake.create_customer(email=f"c{fake.count()}@example.com", full_name="C C")
    status, _, body = call("POST", "/customers/do-bulk-action", {"action": "delete_customers", "customer_ids": "5"})
    assert (status, body) == (500, PLUGIN_EXCEPTION)
    assert fake.count() == 5


def test_row_15_user_without_permissions_is_403_before_validation(fake):
    fake.noperm_username, fake.noperm_password = "subscriber", "sub app pass word 0000"
    status, _, body = fake.handle(
        "POST", SITE + BASE + "/customers", {"Authorization": basic("subscriber", "sub app pass word 0000")}, b"{}"
    )
    assert (status, body) == (403, FORBIDDEN)
    wrong = fake.handle("GET", SITE + BASE + "/customers", {"Authorization": basic("subscriber", "wrong")}, b"")
    assert wrong[0] == 401
    assert fake.count() == 0


# -- Allow headers -------------------------------------------------------------------------------------


def test_allow_headers_on_the_customer_routes(call):
    assert call("GET", "/customers")[1]["Allow"] == "GET, POST"
    assert call("POST", "/customers", {})[1]["Allow"] == "GET, POST"
    created = call("POST", "/customers", JANE)
    assert created[1]["Allow"] == "GET, POST"
    # Live 1.5.2: a GET of one customer says `Allow: GET`, a bulk action `Allow: POST`.
    assert call("GET", "/customers/1")[1]["Allow"] == "GET"
    assert call("GET", "/customers/99")[1]["Allow"] == "GET"
    assert call("PUT", "/customers/1", dict(JANE, id=1))[1]["Allow"] == "PUT, GET"
    bulk = {"action": "change_customer_status", "customer_ids": [1], "new_status": "inactive"}
    assert call("POST", "/customers/do-bulk-action", bulk)[1]["Allow"] == "POST"
    assert call("POST", "/customers/do-bulk-action", {"action": "delete_customers", "customer_ids": [1]})[1]["Allow"] == "POST"


def test_no_allow_header_for_callers_without_the_permission(call, fake):
    # WordPress lists only the methods the caller may use: none for an anonymous or unprivileged one.
    assert "Allow" not in call("GET", "/customers", auth=None)[1]
    fake.noperm_username, fake.noperm_password = "subscriber", "pw"
    assert "Allow" not in call("GET", "/customers", auth=basic("subscriber", "pw"))[1]


# -- the no-permission user over each transport ------------------------------------------------------------


def test_noperm_user_over_the_responses_adapter():
    fake = FakeFluentCart()
    base = "https://shop.example.com/wp-json/fluent-cart/v2"
    try:
        with responses.RequestsMock() as rsps:
            fake.register(rsps, base, noperm_username="subscriber", noperm_password="sub pass")
            answer = requests.post(base + "/customers", json={}, auth=("subscriber", "sub pass"))
            assert (answer.status_code, answer.content) == (403, FORBIDDEN)
            assert requests.post(base + "/customers", json={}, auth=("demo", "demo app pass word 1234")).status_code == 422
    finally:
        fake.close()


def test_noperm_options_of_the_cli(tmp_path):
    import argparse
    import threading
    import time

    from fluentcart_sync.sandbox import cli

    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    options = vars(
        parser.parse_args(
            ["--port", "0", "--db", ":memory:", "--noperm-username", "subscriber", "--noperm-password", "sub pass"]
        )
    )
    lines: list[str] = []
    stop = threading.Event()
    runner = threading.Thread(target=cli.run, args=(options,), kwargs={"write": lines.append, "stop_event": stop})
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while not lines and time.monotonic() < deadline:
            time.sleep(0.02)
        base = lines[0].split(" at ", 1)[1].split(" ", 1)[0]
        answer = requests.post(base + "/customers", json={}, auth=("subscriber", "sub pass"), timeout=5)
        assert (answer.status_code, answer.content) == (403, FORBIDDEN)
    finally:
        stop.set()
        runner.join(timeout=10)
    assert not runner.is_alive()


def test_the_server_answers_a_bad_content_length(fake):
    import socket

    with SandboxServer(fake) as server:
        with socket.create_connection((server.host, server.port), timeout=5) as sock:
            sock.sendall(b"POST /wp-json/fluent-cart/v2/customers HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 400 ")


# -- search, aov and state names as live 1.5.2 answers them -----------------------------------------------


def test_search_ignores_accents_as_mariadbs_collation_does(call, fake):
    fake.create_customer(email="anders@example.com", full_name="Anders Ångström")
    fake.create_customer(email="zoe@example.com", full_name="Zoë Müller")
    fake.create_customer(email="other@example.com", full_name="Someone Else")

    def found(term):
        route = "/customers?" + urlencode({"search": term, "sort_type": "asc"})
        return [c["email"] for c in call.json("GET", route)[1]["customers"]["data"]]

    assert found("Angstrom") == ["anders@example.com"]
    assert found("ångström") == ["anders@example.com"]
    assert found("zoe muller") == ["zoe@example.com"]
    assert found("MÜLLER") == ["zoe@example.com"]


def test_aov_is_returned_with_two_decimals(call, fake):
    fake.create_customer(email="jane@example.com", full_name="Jane Smith", aov="12")
    fake.create_customer(email="john@example.com", full_name="John Smith", aov="7.5")
    assert [c["aov"] for c in fake.customers()] == ["12.00", "7.50"]
    _, data = call.json("PUT", "/customers/1", {"id": 1, "email": "jane@example.com", "full_name": "Jane Smith", "aov": "3"})
    assert data["data"]["aov"] == "3.00"
    assert call.json("GET", "/customers/1")[1]["customer"]["aov"] == "3.00"


def test_a_state_code_without_a_country_is_expanded_as_live(fake):
    without = fake.create_customer(email="a@example.com", full_name="A A", state="ON")
    canadian = fake.create_customer(email="b@example.com", full_name="B B", state="ON", country="CA")
    unknown = fake.create_customer(email="c@example.com", full_name="C C", state="Somewhere")
    assert without["formatted_address"]["state"] == "Ondo"  # Nigeria's ON: later countries win
    assert canadian["formatted_address"]["state"] == "Ontario"
    assert unknown["formatted_address"]["state"] == "Somewhere"
    assert without["state"] == "ON"  # stored as sent
