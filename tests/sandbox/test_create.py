"""POST /customers: the create answers of contract §6, byte for byte where the contract has them."""

import json

import pytest

JANE_MINIMAL = (
    b'{"message":"Customer created successfully!","data":{"email":"jane@example.com","user_id":null,'
    b'"first_name":"Jane","last_name":"Smith","status":null,"aov":null,"notes":"","country":null,'
    b'"city":null,"state":null,"postcode":null,"purchase_value":[],"uuid":"UUID","updated_at":"STAMP",'
    b'"created_at":"STAMP","id":1,"full_name":"Jane Smith","photo":"https:\\/\\/secure.gravatar.com\\/'
    b'avatar\\/8c87b489ce35cf2e2f39f80e282cb2e804932a56a213983eeeb428407d43b52d?s=100&#038;d=mm&#038;r=g",'
    b'"country_name":"","formatted_address":{"country":"","state":null,"city":null,"postcode":null,'
    b'"first_name":"Jane","last_name":"Smith","full_name":"Jane Smith"},"user_link":""}}'
)


def _normalise(body: bytes) -> bytes:
    data = json.loads(body)["data"]
    return (
        body.replace(data["uuid"].encode(), b"UUID")
        .replace(data["created_at"].encode(), b"STAMP")
        .replace(data["updated_at"].encode(), b"STAMP")
    )


def test_minimal_create_matches_the_live_answer_and_status_is_null(call, fake):
    status, headers, body = call("POST", "/customers", {"email": "jane@example.com", "full_name": "Jane Smith"})
    assert status == 200
    assert headers["Content-Type"] == "application/json; charset=UTF-8"
    assert _normalise(body) == JANE_MINIMAL
    assert fake.customers()[0]["status"] is None
    assert fake.customers()[0]["notes"] == ""


def test_full_create_keys_and_computed_fields(call, fake):
    sent = {
        "email": "jane.smith@example.com", "full_name": "Jane Smith", "first_name": "Jane",
        "last_name": "Smith", "country": "US", "city": "Boston", "state": "MA", "postcode": "02101",
        "status": "active", "notes": "synced from django #123",
    }
    status, data = call.json("POST", "/customers", sent)
    assert status == 200
    assert list(data["data"]) == [
        "email", "user_id", "first_name", "last_name", "status", "aov", "notes", "country", "city",
        "state", "postcode", "purchase_value", "uuid", "updated_at", "created_at", "id", "full_name",
        "photo", "country_name", "formatted_address", "user_link",
    ]
    created = data["data"]
    assert created["status"] == "active"
    assert created["country_name"] == "United States (US)"
    assert created["formatted_address"]["state"] == "Massachusetts"
    assert created["photo"].endswith(
        "f2d1f1c853fd1f4be1eb5060eaae93066c877d069473795e31db5e70c4880859?s=100&#038;d=mm&#038;r=g"
    )
    assert isinstance(created["id"], int) and len(created["uuid"]) == 32


@pytest.mark.parametrize("email", ["jane@example.com", "JANE@EXAMPLE.COM", "Jane@Example.Com"])
def test_duplicate_email_in_any_case_is_422_exist(call, fake, email):
    call("POST", "/customers", {"email": "jane@example.com", "full_name": "Jane Smith"})
    status, _, body = call("POST", "/customers", {"email": email, "full_name": "Other"})
    assert (status, body) == (422, b'{"email":{"exist":"Email already exists."}}')
    assert fake.count() == 1


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ({"email": "not-an-email", "full_name": "A B"}, b'{"email":{"email":"Email must be a valid email address."}}'),
        ({"email": "a@localhost", "full_name": "A B"}, b'{"email":{"email":"Email must be a valid email address."}}'),
        ({"full_name": "A B"}, b'{"email":{"required":"Email is required."}}'),
        (
            {"email": None, "full_name": "A B"},
            b'{"email":{"required":"Email is required.","email":"Email must be a valid email address."}}',
        ),
        (
            {"email": "a" * 250 + "@example.com", "full_name": "A B"},
            b'{"email":{"maxLength":"The email must not be greater than 255 characters."}}',
        ),
        ({"email": "x@example.com"}, b'{"full_name":{"required":"Full Name is required."}}'),
        ({"email": "x@example.com", "full_name": None}, b'{"full_name":{"required":"Full Name is required."}}'),
        ({"email": "x@example.com", "full_name": "   "}, b'{"full_name":{"required":"Full Name is required."}}'),
        (
            {"email": "x@example.com", "first_name": "A", "last_name": "B"},
            b'{"full_name":{"required":"Full Name is required."}}',
        ),
        (
            {"email": "x@example.com", "full_name": "x" * 256},
            b'{"full_name":{"maxLength":"The full_name must not be greater than 255 characters."}}',
        ),
        (
            {"email": "x@example.com", "full_name": "<b>Bold</b> Name"},
            b'{"full_name":{"sanitizeText":"The full_name must be a valid text"}}',
        ),
        (
            {"email": "x@example.com", "full_name": "Mary  Lee"},
            b'{"full_name":{"sanitizeText":"The full_name must be a valid text"}}',
        ),
        (
            {"email": "x@example.com", "full_name": "A B", "city": "<b>Paris</b>"},
            b'{"city":{"sanitizeText":"The city must be a valid text"}}',
        ),
        ({}, b'{"full_name":{"required":"Full Name is required."},"email":{"required":"Email is required."}}'),
    ],
)
def test_validation_bodies_are_verbatim(call, fake, sent, expected):
    status, _, body = call("POST", "/customers", sent)
    assert (status, body) == (422, expected)
    assert fake.count() == 0


def test_empty_body_is_like_an_empty_object(call):
    status, _, body = call("POST", "/customers", raw=b"")
    assert status == 422
    assert body == b'{"full_name":{"required":"Full Name is required."},"email":{"required":"Email is required."}}'


def test_padded_existing_email_fails_both_email_and_exist(call):
    call("POST", "/customers", {"email": "jane@example.com", "full_name": "Jane Smith"})
    status, _, body = call("POST", "/customers", {"email": "  jane@example.com ", "full_name": "Jane"})
    assert (status, body) == (
        422, b'{"email":{"email":"Email must be a valid email address.","exist":"Email already exists."}}'
    )


def test_field_order_is_name_city_email(call):
    status, _, body = call("POST", "/customers", {"email": "nope", "full_name": "<i>", "city": "a\tb"})
    assert status == 422
    assert list(json.loads(body)) == ["full_name", "city", "email"]


@pytest.mark.parametrize("name", ["O'Brien & Sons", "Zoë Ünal", "李 小龍", "Ann-Marie > Bob", "  Trim Me  "])
def test_accepted_text(call, name):
    status, _ = call.json("POST", "/customers", {"email": "ok@example.com", "full_name": name})
    assert status == 200


def test_full_name_splits_on_last_space_and_ignores_first_last(call, fake):
    call("POST", "/customers", {"email": "jl@example.com", "full_name": "Jean Luc Picard"})
    call("POST", "/customers", {"email": "fn@example.com", "full_name": "Full Name", "first_name": "Given", "last_name": "Family"})
    call("POST", "/customers", {"email": "one@example.com", "full_name": "Cher"})
    rows = fake.customers()
    assert [(r["first_name"], r["last_name"]) for r in rows] == [("Jean Luc", "Picard"), ("Full", "Name"), ("Cher", "")]


def test_first_last_mode(call, fake):
    fake.name_mode = "first_last"
    status, _, body = call("POST", "/customers", {"email": "x@example.com", "full_name": "Ignored Name"})
    assert (status, body) == (422, b'{"first_name":{"required":"First Name is required."}}')
    status, data = call.json("POST", "/customers", {"email": "x@example.com", "first_name": "Given", "last_name": "Family"})
    assert status == 200 and data["data"]["full_name"] == "Given Family"


def test_notes_and_silent_fields_are_sanitised(call, fake):
    notes = '<script>alert(1)</script><b>bold</b> & <a href="x">link</a>\nline2'
    status, _ = call.json("POST", "/customers", {"email": "n@example.com", "full_name": "N N", "notes": notes, "status": "bogus"})
    assert status == 200
    stored = fake.customers()[0]
    assert stored["notes"] == "bold & link line2"
    assert stored["status"] == "bogus"


def test_overlong_values_are_truncated_but_echoed_untruncated(call, fake):
    email = "a" * 200 + "@example.com"  # 212 characters: valid, under 255 bytes, over 192
    city = "C" * 60
    status, data = call.json("POST", "/customers", {"email": email, "full_name": "F" * 200 + " L", "city": city, "postcode": "9" * 50})
    assert status == 200
    assert data["data"]["email"] == email and data["data"]["city"] == city
    assert data["data"]["first_name"] == "F" * 200
    status, got = call.json("GET", f"/customers/{data['data']['id']}")
    assert got["customer"]["email"] == email[:192]
    assert got["customer"]["first_name"] == "F" * 192
    assert got["customer"]["city"] == "C" * 45 and got["customer"]["postcode"] == "9" * 45


def test_wrong_json_types_crash_with_plugin_exception(call, fake):
    status, _, body = call("POST", "/customers", {"email": 12345, "full_name": ["a", "b"]})
    assert (status, body) == (500, b'{"code":"plugin_exception","data":[],"message":"An internal error occurred."}')
    assert fake.count() == 0


def test_invalid_json_is_400(call):
    status, _, body = call("POST", "/customers", raw=b'{"email": ')
    assert status == 400
    assert body == (
        b'{"code":"rest_invalid_json","message":"Invalid JSON body passed.","data":{"status":400,'
        b'"json_error_code":4,"json_error_message":"Syntax error"}}'
    )


def test_form_encoded_body_works(fake):
    from .conftest import BASE, SITE, basic

    status, _, body = fake.handle(
        "POST", SITE + BASE + "/customers",
        {"Authorization": basic(), "Content-Type": "application/x-www-form-urlencoded"},
        b"email=form%40example.com&full_name=Form+User",
    )
    assert status == 200 and json.loads(body)["data"]["email"] == "form@example.com"


def test_email_of_the_api_user_links_the_wordpress_user(call):
    status, data = call.json("POST", "/customers", {"email": "Admin@Example.com", "full_name": "Site Admin"})
    assert status == 200
    assert data["data"]["user_id"] == 1
    assert data["data"]["user_link"] == "https://shop.example.com/wp-admin/user-edit.php?user_id=1"
