"""Matching what someone typed against names, as Vietnamese users type them: case and diacritics
ignored ("dang", "ĐẶNG" and "Đặng" all find "Đặng Văn Hùng"), spaces tidied.

Done in Python rather than by the database: SQLite's lower() knows only ASCII capitals, and neither
database drops diacritics without an extension. It serves short lists (people, units: a few thousand
rows read once per lookup, about a microsecond a name)."""

from __future__ import annotations

import unicodedata


def folded(text: str | None) -> str:
    """The text lower-cased, without diacritics (đ → d), its spaces collapsed."""
    if not text:
        return ""
    plain = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return " ".join(plain.encode("ascii", "ignore").decode().casefold().split())
