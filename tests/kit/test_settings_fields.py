"""``hub.kit.vendor_http``'s settings fields: ``WholeNumber`` refuses what ``fields.Integer`` cut to a
whole number (1.5 -> 1) or ``int()`` read as one ("1_0", Arabic-Indic digits), and takes the text of
a whole number as the settings form posts it; ``PlainText`` strips a value and refuses control and
invisible characters (Unicode Cc and Cf) by code point, never echoing the value."""

from __future__ import annotations

import pytest
from marshmallow import Schema, ValidationError, fields, validate

from hub.kit.vendor_http import (
    DecimalNumber, PlainText, WholeNumber, control_character_problem, control_characters,
)


class Settings(Schema):
    count = WholeNumber(load_default=5, validate=validate.Range(min=0, max=100))
    own = WholeNumber(allow_none=True, error_messages={"invalid": "Enter a whole number of widgets."})
    key = PlainText(what="an API key", validate=validate.Length(min=1, max=20))
    tokens = PlainText(what="a token", line_breaks=True, allow_none=True)


def _errors(data: dict) -> dict:
    with pytest.raises(ValidationError) as caught:
        Settings().load(data)
    return caught.value.messages


def test_whole_number_refuses_fractions_and_what_int_reads_too_kindly():
    assert isinstance(Settings().fields["count"], fields.Integer)  # the form's number input, step 1
    for given in (1.5, 0.5, 71.9, 2.0, -0.0, 1e3, "1.5", "2.0", "1e1", "1_0", "\u0661\u0660", "\uff11", "0x10",
                  "1 0", "", " ", "ten", True, False, [1], {"n": 1}):
        assert _errors({"count": given}) == {"count": ["Not a valid integer."]}, given
        assert _errors({"own": given}) == {"own": ["Enter a whole number of widgets."]}, given


def test_whole_number_takes_json_integers_and_their_text():
    for given, expected in ((7, 7), ("7", 7), (" 7\n", 7), ("+7", 7), ("007", 7), (0, 0), ("100", 100)):
        assert Settings().load({"count": given})["count"] == expected
    assert Settings().load({})["count"] == 5 and Settings().load({"own": None})["own"] is None
    assert _errors({"count": "-1"}) == {"count": ["Must be greater than or equal to 0 and less than or equal to 100."]}
    assert _errors({"count": 10**30}) == {"count": ["Must be greater than or equal to 0 and less than or equal to 100."]}
    assert _errors({"count": "9" * 5000}) == {"count": ["Number too large."]}  # beyond int()'s 4300 digits


def test_plain_text_strips_and_refuses_control_and_invisible_characters_by_code_point():
    assert Settings().load({"key": "  abc-123\r\n"})["key"] == "abc-123"
    assert Settings().load({"key": "Zoë 山田 ½ – x"})["key"] == "Zoë 山田 ½ – x"
    for char, code in (("\x00", "U+0000"), ("\x01", "U+0001"), ("\x0b", "U+000B"), ("\x1b", "U+001B"),
                       ("\x7f", "U+007F"), ("\x9b", "U+009B"), ("\xad", "U+00AD"), ("\u200b", "U+200B"),
                       ("\u200e", "U+200E"), ("\u202e", "U+202E"), ("\u2066", "U+2066"), ("\ufeff", "U+FEFF"),
                       ("\n", "U+000A"), ("\t", "U+0009")):
        assert _errors({"key": f"sekrit{char}value"}) == {"key": [
            f"Holds an invisible or control character ({code}), which an API key cannot contain."]}, code
    assert _errors({"key": "a\x01b\u200bc\x01"}) == {"key": [
        "Holds invisible or control characters (U+0001, U+200B), which an API key cannot contain."]}
    assert _errors({"key": "".join(chr(c) for c in range(1, 9))}) == {"key": [
        "Holds invisible or control characters (U+0001, U+0002, U+0003, U+0004, U+0005 and 3 more), "
        "which an API key cannot contain."]}
    assert _errors({"key": " \n"}) == {"key": ["Length must be between 1 and 20."]}  # validators see the stripped text
    assert _errors({"key": 5}) == {"key": ["Not a valid string."]}


def test_plain_text_with_line_breaks_keeps_them_inside_and_refuses_the_rest():
    assert Settings().load({"key": "k", "tokens": " one\r\ntwo\tthree\n"})["tokens"] == "one\r\ntwo\tthree"
    assert _errors({"key": "k", "tokens": "one\ntwo\x0cthree"}) == {"tokens": [
        "Holds an invisible or control character (U+000C), which a token cannot contain."]}
    assert Settings().load({"key": "k", "tokens": None})["tokens"] is None


def test_the_functions_for_a_plugins_own_text():
    assert control_characters("a\u202eb\x01c\u202e") == ["\u202e", "\x01"]
    assert control_characters("a\nb\tc", line_breaks=True) == [] and control_characters("a\nb") == ["\n"]
    assert control_character_problem("fine") is None
    assert control_character_problem("x\x01") == (
        "Holds an invisible or control character (U+0001), which this value cannot contain.")


class Rates(Schema):
    rate = DecimalNumber(load_default=2.5, validate=validate.Range(min=0.25, max=100))


def test_decimal_number_takes_plain_decimals_and_refuses_what_float_reads_too_kindly():
    assert isinstance(Rates().fields["rate"], fields.Float)  # the form's number input, a step of any
    for given, expected in ((3, 3.0), (0.5, 0.5), ("2.5", 2.5), (" 2.5\n", 2.5), ("+2.5", 2.5), (".5", 0.5),
                            ("7.", 7.0), ("007", 7.0)):
        assert Rates().load({"rate": given})["rate"] == expected, given
    assert Rates().load({})["rate"] == 2.5
    for given in ("1_0", "\u0661\u0660", "\uff11", "1e1", "inf", "nan", "Infinity", "1 0", "", " ", ".", "ten",
                  True, [1]):
        with pytest.raises(ValidationError) as caught:
            Rates().load({"rate": given})
        assert caught.value.messages == {"rate": ["Not a valid number."]}, given
    for given in (float("inf"), float("nan")):
        with pytest.raises(ValidationError) as caught:
            Rates().load({"rate": given})
        assert caught.value.messages == {"rate": ["Special numeric values (nan or infinity) are not permitted."]}
