"""Reading the values of framework and commune-plan payloads (JSON API bodies and web forms alike).

Each reader returns the clean value, or records an English message under the field's path in `errors`
(e.g. "tasks[2].budget_million_vnd") and returns None; the web pages show them in Vietnamese by the
message's start (app/commune_plans/forms.py). Messages start with one of the MESSAGE_* texts below.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

REQUIRED = "required"
TOO_LONG = "at most"
NOT_TEXT = "must be a string"
NOT_NUMBER = "must be a number"
NEGATIVE = "must not be negative"
TOO_PRECISE = "at most 3 decimal places"
TOO_LARGE = "too large"
NOT_DATE = "must be a date"
NOT_LIST = "must be a list"
NOT_OBJECT = "must be an object"
TOO_MANY = "too many"
UNKNOWN = "unknown"
DUPLICATE = "given twice"
NOT_INTEGER = "must be a whole number"

MAX_NUMBER = Decimal("1e12")


def text(
    value: Any, path: str, errors: dict[str, str], *, required: bool = False, max_length: int
) -> str | None:
    """A string, stripped; blank is None (an error when required)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[path] = REQUIRED
        return None
    if not isinstance(value, str):
        errors[path] = NOT_TEXT
        return None
    value = value.strip()
    if len(value) > max_length:
        errors[path] = f"{TOO_LONG} {max_length} characters"
        return None
    return value


def number(value: Any, path: str, errors: dict[str, str], *, required: bool = False) -> Decimal | None:
    """A non-negative number with at most 3 decimals: a JSON number, or a string ("12,5" as 12.5)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[path] = REQUIRED
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        errors[path] = NOT_NUMBER
        return None
    try:
        parsed = Decimal(value.strip().replace(",", ".") if isinstance(value, str) else str(value))
    except InvalidOperation:
        errors[path] = NOT_NUMBER
        return None
    if not parsed.is_finite():
        errors[path] = NOT_NUMBER
    elif parsed < 0:
        errors[path] = NEGATIVE
    elif parsed >= MAX_NUMBER:
        errors[path] = TOO_LARGE
    elif parsed.as_tuple().exponent < -3 and parsed != parsed.quantize(Decimal("0.001")):
        errors[path] = TOO_PRECISE
    else:
        return parsed.quantize(Decimal("0.001"))
    return None


def integer(value: Any, path: str, errors: dict[str, str], *, low: int, high: int) -> int | None:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        errors[path] = REQUIRED if value in (None, "") else NOT_INTEGER
        return None
    if not low <= value <= high:
        errors[path] = f"{NOT_INTEGER} from {low} to {high}"
        return None
    return value


def iso_date(value: Any, path: str, errors: dict[str, str]) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    errors[path] = f"{NOT_DATE} (YYYY-MM-DD)"
    return None


def objects(value: Any, path: str, errors: dict[str, str], *, max_items: int) -> list[dict] | None:
    """A list of JSON objects (None when absent); every other shape is an error."""
    if value is None:
        return None
    if not isinstance(value, list):
        errors[path] = NOT_LIST
        return None
    if len(value) > max_items:
        errors[path] = f"{TOO_MANY}: at most {max_items}"
        return None
    bad = [i for i, entry in enumerate(value) if not isinstance(entry, dict)]
    for i in bad:
        errors[f"{path}[{i}]"] = NOT_OBJECT
    return None if bad else value


def strings(value: Any, path: str, errors: dict[str, str], *, max_items: int, max_length: int) -> list[str]:
    """A list of distinct non-blank strings (blank entries dropped)."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > max_items:
        errors[path] = NOT_LIST if not isinstance(value, list) else f"{TOO_MANY}: at most {max_items}"
        return []
    found: list[str] = []
    for i, entry in enumerate(value):
        cleaned = text(entry, f"{path}[{i}]", errors, max_length=max_length)
        if cleaned is not None and cleaned not in found:
            found.append(cleaned)
    return found


def unknown_fields(body: dict, allowed: tuple[str, ...], path: str, errors: dict[str, str]) -> None:
    for name in body:
        if name not in allowed:
            errors[f"{path}.{name}" if path else name] = f"{UNKNOWN} field"


def as_number(value: Decimal | None) -> float | int | None:
    """A stored number as JSON gives it: whole numbers as int."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)
