"""Text from outside (a URL, an event subject, an audit target, a session) as a row id: one parser."""

import pytest

from hub.store.models import ID32_MAX, parse_table_id


@pytest.mark.parametrize("text, expected", [
    ("1", 1), ("0042", 42), (str(ID32_MAX), ID32_MAX),
    ("0", None), (str(ID32_MAX + 1), None), ("9" * 5000, None),  # int() refuses over 4,300 digits
    ("²", None), ("١٢", None), ("-1", None), ("+1", None), (" 1", None), ("1.0", None), ("", None), (None, None),
])
def test_only_ascii_digits_within_the_id_range_are_a_row_id(text, expected):
    assert parse_table_id(text) == expected


def test_a_table_with_64_bit_ids_takes_larger_ones():
    assert parse_table_id(str(ID32_MAX + 1), largest=2**63 - 1) == ID32_MAX + 1
