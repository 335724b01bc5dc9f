"""The pull's set of FluentCart ids seen: a bitmap that answers like a set."""

from fluentcart_sync.idset import BITMAP_LIMIT, IdSet


def test_it_holds_exactly_the_ids_added():
    ids = IdSet()
    ids.update([1, 8, 9, 1_000_000])
    ids.add(0)
    assert [n for n in range(20) if n in ids] == [0, 1, 8, 9]
    assert 1_000_000 in ids and 999_999 not in ids and 5_000_000 not in ids


def test_ids_a_bitmap_cannot_hold_are_kept_too():
    ids = IdSet()
    ids.update([-3, BITMAP_LIMIT + 5])
    assert -3 in ids and BITMAP_LIMIT + 5 in ids
    assert BITMAP_LIMIT + 4 not in ids and "7" not in ids


def test_a_million_ids_take_a_bitmap_not_a_python_set():
    ids = IdSet()
    ids.update(range(1, 1_000_001))
    assert all(n in ids for n in (1, 500_000, 1_000_000)) and 1_000_001 not in ids
    assert len(ids._bits) < 300_000, "about 125 KB, doubled at most while it grew"
