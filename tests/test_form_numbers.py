"""Numbers typed in a step's web form: read as numbers, "1,5" as 1.5; what is not a finite number stays
text, so the form's validator reports it instead of storing a value JSON cannot carry."""

from __future__ import annotations

import math

import pytest
from werkzeug.datastructures import MultiDict

from app.services.form_options import data_from_form
from workflows.forms import validate_form

SCHEMA = {
    "type": "object",
    "properties": {
        "share": {"type": "number", "title": "Tỷ lệ"},
        "count": {"type": "integer", "title": "Số lượng"},
    },
}


def test_numbers_are_read_as_numbers():
    data = data_from_form(SCHEMA, MultiDict({"share": "1,5", "count": " 12 "}))
    assert data == {"share": 1.5, "count": 12}
    assert validate_form(SCHEMA, data, None, lambda code: True) == {}


@pytest.mark.parametrize("typed", ["nan", "NaN", "inf", "-Infinity", "1e999"])
def test_what_is_not_a_finite_number_is_refused_by_the_form(app, typed):
    data = data_from_form(SCHEMA, MultiDict({"share": typed}))
    assert data == {"share": typed}
    assert not any(isinstance(value, float) and not math.isfinite(value) for value in data.values())
    with app.test_request_context():
        assert set(validate_form(SCHEMA, data, None, lambda code: True)) == {"share"}
