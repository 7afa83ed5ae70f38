import re

import pytest

from parley.meetings.naming import RANDOM_BYTES, new_room_id, new_slug, slugify


@pytest.mark.parametrize(
    ("title", "prefix"),
    [
        ("Weekly Sync", "weekly-sync"),
        ("Réunion d'équipe", "reunion-d-equipe"),
        ("周会", ""),
        ("  --Q3 planning!!  ", "q3-planning"),
        ("x" * 100, "x" * 32),
    ],
)
def test_slugify(title, prefix):
    assert slugify(title) == prefix


def test_slug_has_readable_prefix_and_random_part():
    slug = new_slug("Weekly Sync")

    prefix, _, random_part = slug.rpartition("-")
    assert prefix == "weekly-sync"
    assert re.fullmatch(r"[a-z2-7]{16}", random_part)


def test_random_part_carries_at_least_64_bits():
    assert RANDOM_BYTES * 8 >= 64


def test_chinese_title_falls_back_to_prefix():
    assert new_slug("周会", fallback="meeting").startswith("meeting-")


def test_slugs_do_not_repeat():
    assert len({new_slug("x") for _ in range(1000)}) == 1000


def test_room_ids_fit_javascript_numbers():
    for _ in range(1000):
        assert 1 <= new_room_id() < 2**53
