"""GET /customers: the paginator of contract §4.3 and the search quirks of §4.2."""

import pytest

LIST_PATH = "https://shop.example.com/wp-json/fluent-cart/v2/customers"

EMPTY = (
    b'{"customers":{"current_page":1,"data":[],"first_page_url":"https:\\/\\/shop.example.com\\/wp-json\\/'
    b'fluent-cart\\/v2\\/customers\\/?page=1","from":null,"last_page":1,"last_page_url":"https:\\/\\/shop.'
    b'example.com\\/wp-json\\/fluent-cart\\/v2\\/customers\\/?page=1","links":[{"url":null,"label":'
    b'"pagination.previous","active":false},{"url":"https:\\/\\/shop.example.com\\/wp-json\\/fluent-cart\\/'
    b'v2\\/customers\\/?page=1","label":"1","active":true},{"url":null,"label":"pagination.next","active":'
    b'false}],"next_page_url":null,"path":"https:\\/\\/shop.example.com\\/wp-json\\/fluent-cart\\/v2\\/'
    b'customers","per_page":10,"prev_page_url":null,"to":null,"total":0}}'
)


def seed(fake, count):
    for number in range(1, count + 1):
        fake.create_customer(email=f"user{number}@example.com", full_name=f"User Number{number}")


def test_empty_store_is_verbatim(call):
    status, headers, body = call("GET", "/customers")
    assert (status, body) == (200, EMPTY)
    assert headers["Allow"] == "GET, POST"


def test_default_order_is_newest_first_and_list_items_have_no_labels(call, fake):
    seed(fake, 3)
    _, data = call.json("GET", "/customers")
    items = data["customers"]["data"]
    assert [item["id"] for item in items] == [3, 2, 1]
    assert "labels" not in items[0] and "selected_labels" not in items[0]
    assert list(items[0])[:3] == ["id", "user_id", "contact_id"]
    assert items[0]["user_id"] is None and items[0]["purchase_count"] == "0"


@pytest.mark.parametrize(("asked", "used"), [("5", 5), ("1", 1), ("199", 199), ("0", 10), ("200", 10), ("500", 10), ("x", 10)])
def test_per_page_bounds(call, fake, asked, used):
    seed(fake, 12)
    _, data = call.json("GET", f"/customers?per_page={asked}")
    assert data["customers"]["per_page"] == used
    assert len(data["customers"]["data"]) == min(used, 12)


def test_pages_urls_and_counts(call, fake):
    seed(fake, 25)
    _, data = call.json("GET", "/customers?per_page=10&page=3&search=example&sort_type=asc")
    page = data["customers"]
    assert page["current_page"] == 3 and page["last_page"] == 3 and page["total"] == 25
    assert (page["from"], page["to"]) == (21, 25)
    assert [item["id"] for item in page["data"]] == [21, 22, 23, 24, 25]
    assert page["first_page_url"] == LIST_PATH + "/?page=1"
    assert page["prev_page_url"] == LIST_PATH + "/?page=2"
    assert page["next_page_url"] is None
    assert page["path"] == LIST_PATH
    assert [link["label"] for link in page["links"]] == ["pagination.previous", "1", "2", "3", "pagination.next"]
    assert [link["active"] for link in page["links"]] == [False, False, False, True, False]


def test_page_past_the_end_is_empty(call, fake):
    seed(fake, 3)
    _, data = call.json("GET", "/customers?page=99")
    page = data["customers"]
    assert page["data"] == [] and page["current_page"] == 99
    assert page["from"] is None and page["to"] is None
    assert page["prev_page_url"] == LIST_PATH + "/?page=98"
    assert page["last_page"] == 1


def test_many_pages_collapse_links(call, fake):
    seed(fake, 30)
    _, data = call.json("GET", "/customers?per_page=1&page=15")
    labels = [link["label"] for link in data["customers"]["links"]]
    assert labels == ["pagination.previous", "1", "2", "...", "12", "13", "14", "15", "16", "17", "18",
                      "...", "29", "30", "pagination.next"]


def test_rest_route_form_loses_the_route_in_urls(call, fake):
    seed(fake, 1)
    status, data = call.json("GET", "/?rest_route=/fluent-cart/v2/customers&per_page=5")
    assert status == 200
    assert data["customers"]["path"] == "https://shop.example.com"
    assert data["customers"]["first_page_url"] == "https://shop.example.com/?page=1"
    assert data["customers"]["per_page"] == 5


def test_trailing_slash_is_accepted(call, fake):
    seed(fake, 1)
    status, data = call.json("GET", "/customers/")
    assert status == 200 and data["customers"]["total"] == 1


def test_search_is_a_case_insensitive_substring(call, fake):
    fake.create_customer(email="jane@example.com", full_name="Jane Smith")
    fake.create_customer(email="mary.jane@example.com", full_name="Mary Major")
    fake.create_customer(email="bob@example.org", full_name="Bob Stone")
    _, data = call.json("GET", "/customers?search=JANE@EXAMPLE.COM")
    assert sorted(item["email"] for item in data["customers"]["data"]) == ["jane@example.com", "mary.jane@example.com"]
    _, data = call.json("GET", "/customers?search=%20bob%20stone%20")
    assert [item["email"] for item in data["customers"]["data"]] == ["bob@example.org"]


def test_underscore_is_a_wildcard_in_the_email_part_only(call, fake):
    fake.create_customer(email="jane.smith@example.com", full_name="Jane Smith")
    fake.create_customer(email="jane_smith@example.com", full_name="Other Person")
    fake.create_customer(email="x@example.com", full_name="Jane_Smith Literal")
    _, data = call.json("GET", "/customers?search=jane_smith")
    emails = sorted(item["email"] for item in data["customers"]["data"])
    # jane.smith matches through the unescaped `_`; the literal-name row matches its name.
    assert emails == ["jane.smith@example.com", "jane_smith@example.com", "x@example.com"]
    _, data = call.json("GET", "/customers?search=Jane_S")  # has no space: email part on
    assert len(data["customers"]["data"]) == 3
    _, data = call.json("GET", "/customers?search=Jane%25Smith%20")  # `%` escaped in the name part
    assert sorted(item["email"] for item in data["customers"]["data"]) == ["jane.smith@example.com", "jane_smith@example.com"]


def test_a_space_switches_the_email_match_off(call, fake):
    fake.create_customer(email="ann@example.com", full_name="Zed Zulu")
    _, data = call.json("GET", "/customers?search=ann@example.com%20x")
    assert data["customers"]["total"] == 0


def test_numeric_term_matches_ids(call, fake):
    seed(fake, 12)
    _, data = call.json("GET", "/customers?search=1&per_page=50&sort_type=asc")
    ids = [item["id"] for item in data["customers"]["data"]]
    assert 10 in ids and 12 in ids and 1 in ids


@pytest.mark.parametrize(
    ("term", "ids"),
    [("id=3", [3]), ("id>8", [9, 10]), ("id<3", [1, 2]), ("id!=5", [1, 2, 3, 4, 6, 7, 8, 9, 10]), ("id::4-6", [4, 5, 6]), ("email=user1@example.com", [])],
)
def test_id_filters(call, fake, term, ids):
    seed(fake, 10)
    _, data = call.json("GET", f"/customers?search={term}&sort_type=asc&per_page=50")
    assert [item["id"] for item in data["customers"]["data"]] == ids


def test_sort_by_email_and_fallback_to_id(call, fake):
    fake.create_customer(email="b@example.com", full_name="B B")
    fake.create_customer(email="A@example.com", full_name="A A")
    fake.create_customer(email="c@example.com", full_name="C C")
    _, data = call.json("GET", "/customers?sort_by=email&sort_type=ASC")
    assert [item["email"] for item in data["customers"]["data"]] == ["A@example.com", "b@example.com", "c@example.com"]
    _, data = call.json("GET", "/customers?sort_by=created_at&sort_type=asc")
    assert [item["id"] for item in data["customers"]["data"]] == [1, 2, 3]
    _, data = call.json("GET", "/customers?sort_type=sideways")
    assert [item["id"] for item in data["customers"]["data"]] == [3, 2, 1]


def test_keyset_walk_with_id_greater_than(call, fake):
    seed(fake, 450)
    seen, last = [], 0
    while True:
        _, data = call.json("GET", f"/customers?search=id>{last}&sort_type=asc&per_page=199")
        rows = data["customers"]["data"]
        if not rows:
            break
        seen += [row["id"] for row in rows]
        last = rows[-1]["id"]
    assert seen == list(range(1, 451))


def test_an_id_range_is_one_page_whose_paginator_counts_only_the_range(call, fake):
    seed(fake, 450)
    _, data = call.json("GET", "/customers?search=id::200-398&sort_type=asc&per_page=199&page=1")
    page = data["customers"]
    assert [row["id"] for row in page["data"]] == list(range(200, 399))
    assert (page["total"], page["last_page"], page["current_page"]) == (199, 1, 1)
    assert (page["from"], page["to"]) == (1, 199)
    _, data = call.json("GET", "/customers?search=id::399-597&sort_type=asc&per_page=199")
    page = data["customers"]
    assert [row["id"] for row in page["data"]] == list(range(399, 451))
    assert (page["total"], page["last_page"], page["current_page"]) == (52, 1, 1)
    _, data = call.json("GET", "/customers?search=id::500-698&sort_type=asc&per_page=199")
    page = data["customers"]
    assert page["data"] == [] and (page["total"], page["last_page"], page["from"]) == (0, 1, None)
