"""Every numeric setting of the Canditech, Lever and Vervoe plugins takes a plain decimal number only.

Python's ``int()`` and ``float()`` take more than what an admin means by a number: "1_0" (10),
digits of other scripts ("\u0661\u0662" is 12, full-width "\uff11\uff12" too), and ``float()`` also
"inf", "nan", "Infinity" and "1e1". A setting typed as such text must be refused with the field's
own message (keyed by the field: the form shows it there, the API answers 422 naming it), never
saved as the number Python made of it. Canditech's ``rate_limit_per_second`` was a marshmallow
``Float`` and saved "1_0" as 10.0; the whole-number settings are ``hub.kit.vendor_http.WholeNumber``.
"""

from __future__ import annotations

import pytest
from marshmallow import ValidationError, fields

import plugins.canditech as canditech
from hub.extensions import db
from hub.kit.vendor_http import DecimalNumber, WholeNumber
from plugins.canditech.settings import CanditechSettingsSchema
from plugins.lever.settings import LeverSettingsSchema
from plugins.vervoe.settings import VervoeSettingsSchema
from tests.support.engine import api_client
from tests.web.support import make_user

SCHEMAS = {"canditech": CanditechSettingsSchema, "lever": LeverSettingsSchema, "vervoe": VervoeSettingsSchema}
MINIMAL = {"canditech": {"api_key": "key-1"}, "lever": {}, "vervoe": {"api_key": "key-1", "api_secret": "secret-1"}}
NUMBER_FIELDS = [(plugin, name) for plugin, schema in SCHEMAS.items()
                 for name, field in schema().fields.items() if isinstance(field, fields.Number)]
FIELD_IDS = [f"{plugin}.{name}" for plugin, name in NUMBER_FIELDS]

# text int() or float() takes that is no plain decimal number as an admin types it
NOT_PLAIN = ["1_0", "1_000", "\u0661\u0662", "\u0967\u0966", "\uff11\uff12", "\u00b2", "inf", "-inf", "+inf",
             "Infinity", "nan", "NaN", "-nan", "1 0", "1\u00a00", "1\t0", "\u200310", "10\u2003", "\u206610",
             "1e1", "0x10", "1,5"]


def _field(plugin: str, name: str):
    return SCHEMAS[plugin]().fields[name]


def _low(plugin: str, name: str):
    for validator in _field(plugin, name).validators:
        if getattr(validator, "min", None) is not None:
            return validator.min
    return 1


def test_every_numeric_setting_is_a_strict_field():
    assert {plugin for plugin, _ in NUMBER_FIELDS} == set(SCHEMAS)
    for plugin, name in NUMBER_FIELDS:
        assert isinstance(_field(plugin, name), (WholeNumber, DecimalNumber)), (plugin, name)
    assert ("canditech", "rate_limit_per_second") in NUMBER_FIELDS


@pytest.mark.parametrize("plugin, name", NUMBER_FIELDS, ids=FIELD_IDS)
@pytest.mark.parametrize("given", NOT_PLAIN, ids=ascii)
def test_text_python_reads_as_a_number_is_refused_naming_the_field(plugin, name, given):
    field = _field(plugin, name)
    with pytest.raises(ValidationError) as caught:
        SCHEMAS[plugin]().load({**MINIMAL[plugin], name: given})
    assert set(caught.value.messages) == {name}
    assert caught.value.messages[name] == [field.error_messages["invalid"]]


@pytest.mark.parametrize("plugin, name", NUMBER_FIELDS, ids=FIELD_IDS)
def test_infinite_and_not_a_number_json_values_are_refused(plugin, name):
    for given in (float("inf"), float("-inf"), float("nan")):
        with pytest.raises(ValidationError) as caught:
            SCHEMAS[plugin]().load({**MINIMAL[plugin], name: given})
        assert set(caught.value.messages) == {name}, given


@pytest.mark.parametrize("plugin, name", NUMBER_FIELDS, ids=FIELD_IDS)
def test_plain_numbers_as_typed_are_taken(plugin, name):
    low = _low(plugin, name)
    for given in (low, str(low), f" {low} ", f"+{low}", f"{low}\r\n"):
        assert SCHEMAS[plugin]().load({**MINIMAL[plugin], name: given})[name] == low, given


@pytest.mark.parametrize("given, expected", [("2.5", 2.5), (" 2.5 ", 2.5), ("+2.5", 2.5), (".5", 0.5), ("5.", 5.0),
                                             ("0.25", 0.25), ("100", 100.0), (2.5, 2.5), (3, 3.0)])
def test_the_rate_takes_plain_decimals(given, expected):
    assert CanditechSettingsSchema().load({"api_key": "k", "rate_limit_per_second": given}) \
        ["rate_limit_per_second"] == expected


def test_a_rate_typed_with_an_underscore_is_a_422_through_the_api_and_nothing_is_saved(make_app):
    from hub.runtime import get_runtime

    app = make_app(plugins=[("canditech", canditech)], entry_points=False)
    with app.app_context():
        make_user(1, "owner@numeric-settings.test", "super_admin")
        db.session.commit()
    api = api_client(app, "owner@numeric-settings.test", "numeric settings")
    message = _field("canditech", "rate_limit_per_second").error_messages["invalid"]
    for given in ("1_0", "\u0661\u0662", "inf"):
        response = api("PUT", "/integrations/canditech", json={"api_key": "key-1", "rate_limit_per_second": given})
        assert response.status_code == 422, response.get_json()
        assert response.get_json()["error"]["fields"] == {"rate_limit_per_second": [message]}
    with app.app_context():
        row = get_runtime().integration(1, "canditech")
        assert row is None or not (row.settings or {})
