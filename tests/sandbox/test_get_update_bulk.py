"""GET /customers/{id}, PUT /customers/{id} (full replace) and the bulk actions."""


FULL = {
    "email": "jane@example.com", "full_name": "Jane Smith", "status": "active", "country": "US",
    "city": "Boston", "state": "MA", "postcode": "02101", "notes": "vip", "aov": "12.34",
}


def test_get_one_key_order(call, fake):
    fake.create_customer(**FULL)
    status, data = call.json("GET", "/customers/1")
    assert status == 200
    assert list(data["customer"]) == [
        "id", "user_id", "contact_id", "email", "first_name", "last_name", "status", "purchase_value",
        "purchase_count", "ltv", "first_purchase_date", "last_purchase_date", "aov", "notes", "uuid",
        "country", "city", "state", "postcode", "created_at", "updated_at", "selected_labels",
        "full_name", "photo", "country_name", "formatted_address", "user_link", "labels",
    ]
    _, data = call.json("GET", "/customers/1?params[customer_only]=yes")
    assert "selected_labels" not in data["customer"]


def test_get_unknown_id_is_entity_not_found(call):
    status, _, body = call("GET", "/customers/99")
    assert status == 404
    assert body == (
        b'{"data":{"message":"Customer not found","buttonText":"Back to Customer List","route":"\\/customers",'
        b'"wpfluent":{"env":"production"}},"code":"fluent_cart_entity_not_found"}'
    )


def test_get_non_numeric_id_is_portal_422(call):
    status, _, body = call("GET", "/customers/abc")
    assert (status, body) == (422, b'{"message":"You are not authorized to view this customer"}')


def test_put_without_id_in_body_says_email_exists(call, fake):
    fake.create_customer(**FULL)
    status, _, body = call("PUT", "/customers/1", {"email": "jane@example.com", "full_name": "Jane Q Smith"})
    assert (status, body) == (422, b'{"email":{"exist":"Email already exists."}}')
    assert fake.customers()[0]["first_name"] == "Jane"
    assert fake.requests_seen[-1] == ("PUT", "/customers/1", {"email": "jane@example.com", "full_name": "Jane Q Smith"})


def test_put_with_id_is_a_full_replace(call, fake):
    fake.create_customer(**FULL, user_id=7)
    status, data = call.json("PUT", "/customers/1", {"id": 1, "email": "jane@example.com", "full_name": "Jane Q Smith"})
    assert status == 200
    assert data["message"] == "Customer updated successfully!"
    row = data["data"]
    assert "labels" not in row and "selected_labels" not in row
    assert (row["first_name"], row["last_name"]) == ("Jane Q", "Smith")
    for wiped in ("status", "country", "city", "state", "postcode", "aov", "user_id"):
        assert row[wiped] is None, wiped
    assert row["notes"] == ""
    assert fake.customers()[0]["uuid"] == row["uuid"]
    method, path, body = fake.requests_seen[-1]
    assert (method, path, body["id"]) == ("PUT", "/customers/1", 1)


def test_put_keeps_fields_that_are_sent(call, fake):
    fake.create_customer(**FULL)
    body = dict(FULL, id=1, user_id=1, full_name="Jane Smith")
    status, data = call.json("PUT", "/customers/1", body)
    assert status == 200
    assert data["data"]["user_id"] == "1" and data["data"]["status"] == "active" and data["data"]["aov"] == "12.34"


def test_put_linked_customer_keeps_its_email(call, fake):
    fake.create_customer(**FULL, user_id=3)
    status, data = call.json("PUT", "/customers/1", {"id": 1, "user_id": 3, "email": "new@example.com", "full_name": "J S"})
    assert status == 200 and data["data"]["email"] == "jane@example.com"


def test_put_another_customers_email_is_exist(call, fake):
    fake.create_customer(email="a@example.com", full_name="A A")
    fake.create_customer(email="b@example.com", full_name="B B")
    status, _, body = call("PUT", "/customers/2", {"id": 2, "email": "A@example.com", "full_name": "B B"})
    assert (status, body) == (422, b'{"email":{"exist":"Email already exists."}}')


def test_put_unknown_id_is_500_code_400(call):
    status, _, body = call("PUT", "/customers/42", {"id": 42, "email": "x@example.com", "full_name": "X Y"})
    assert (status, body) == (
        500, b'{"code":400,"message":"Customer not found, please reload the page and try again!","data":null}'
    )


def test_put_validation_runs_first(call):
    status, _, body = call("PUT", "/customers/42", {"id": 42, "email": "x@example.com"})
    assert (status, body) == (422, b'{"full_name":{"required":"Full Name is required."}}')


def test_method_override_header_makes_post_a_put(call, fake):
    fake.create_customer(**FULL)
    status, data = call.json(
        "POST", "/customers/1", {"id": 1, "email": "jane@example.com", "full_name": "Jo Smith"},
        headers={"X-HTTP-Method-Override": "PUT"},
    )
    assert status == 200 and data["data"]["first_name"] == "Jo"


def test_put_response_shows_truncated_values(call, fake):
    fake.create_customer(**FULL)
    status, data = call.json("PUT", "/customers/1", {"id": 1, "email": "jane@example.com", "full_name": "J S", "city": "c" * 50})
    assert status == 200 and data["data"]["city"] == "c" * 45


def test_bulk_status_and_delete(call, fake):
    for number in range(3):
        fake.create_customer(email=f"b{number}@example.com", full_name="B B")
    status, _, body = call("POST", "/customers/do-bulk-action", {"action": "change_customer_status", "customer_ids": [1, 2], "new_status": "inactive"})
    assert (status, body) == (200, b'{"message":"Customer Status has been changed","data":""}')
    assert [row["status"] for row in fake.customers()] == ["inactive", "inactive", None]
    status, _, body = call("POST", "/customers/do-bulk-action", {"action": "delete_customers", "customer_ids": [1, 3]})
    assert (status, body) == (200, b'{"message":"Selected Customers has been deleted permanently","data":""}')
    assert [row["id"] for row in fake.customers()] == [2]


def test_bulk_refusals(call):
    cases = [
        ({"action": "change_customer_status", "customer_ids": [1], "new_status": "archived"},
         b'{"code":403,"message":"Provided customer status is not valid","data":null}'),
        ({"action": "delete_customers", "customer_ids": []},
         b'{"code":403,"message":"Customers selection is required","data":null}'),
        ({"action": "explode", "customer_ids": [1]},
         b'{"code":400,"message":"Selected action is invalid","data":null}'),
    ]
    for sent, expected in cases:
        assert call("POST", "/customers/do-bulk-action", sent)[::2] == (500, expected)


def test_ids_are_not_reused_after_delete(call, fake):
    fake.create_customer(email="a@example.com", full_name="A A")
    call("POST", "/customers/do-bulk-action", {"action": "delete_customers", "customer_ids": [1]})
    _, data = call.json("POST", "/customers", {"email": "b@example.com", "full_name": "B B"})
    assert data["data"]["id"] == 2
