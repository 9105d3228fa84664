"""Unit names as documents write them, matched to stored units.

A text is compared with every unit's code, name, short name and aliases, ignoring case, extra spaces,
the kind of dash, trailing punctuation and, if need be, Vietnamese diacritics:

1. "strict": case-insensitive, with the diacritics ("Văn phòng sở" finds Văn phòng Sở);
2. "loose", only when strict finds nothing: without diacritics, đ read as d ("Phong Cong nghe thong
   tin" finds Phòng Công nghệ thông tin).

One unit found is the match. Several are ambiguous: the caller names them (`Match.candidates`). When
both active and deactivated units answer, only the active ones count; a text that finds only
deactivated units gives them with `Match.inactive`. A text "X (Y)" that finds nothing as a whole is
read as unit X and its sub-unit Y ("Văn phòng Sở (Bộ phận Kế hoạch Tài chính)").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select

from app.extensions import db
from app.models import Unit, UnitKind

_DASHES = str.maketrans({"–": "-", "—": "-", "−": "-", "‐": "-", "\u00a0": " "})
_SPACED_DASH = re.compile(r"\s*-\s*")
_PARENTHESISED = re.compile(r"^(?P<outer>.+?)\s*\((?P<inner>[^()]+)\)$")


def tidy(text: str) -> str:
    """NFC, one space between words, no space around the text."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def strict_key(text: str) -> str:
    """The text as compared in the first pass: NFC, case-folded, spaces and dashes tidied."""
    text = tidy(text.translate(_DASHES)).strip(" .;,:")
    return _SPACED_DASH.sub(" - ", text).casefold()


def fold(text: str) -> str:
    """The text as compared in the second pass: strict_key without diacritics (đ → d)."""
    decomposed = unicodedata.normalize("NFD", strict_key(text).replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def unit_labels(unit: Unit) -> list[str]:
    """Every text that names the unit: code, name, short name, aliases."""
    names = [unit.code, unit.name, unit.short_name, *(unit.aliases or [])]
    return [name for name in names if isinstance(name, str) and name.strip()]


@dataclass
class Match:
    """What a text found: `unit` when exactly one unit; otherwise the `candidates` (none: unknown)."""

    text: str
    unit: Unit | None = None
    candidates: list[Unit] = field(default_factory=list)
    inactive: bool = False  # the text names only deactivated units

    @property
    def ambiguous(self) -> bool:
        return self.unit is None and len(self.candidates) > 1

    def as_written(self) -> str | None:
        """The text when it differs from the unit's name and code other than by case, accents, spaces."""
        if self.unit is None:
            return None
        if fold(self.text) in (fold(self.unit.name), fold(self.unit.code)):
            return None
        return tidy(self.text)


class UnitMatcher:
    """An index of units by every name they go by, in both passes."""

    def __init__(self, units: Iterable[Unit]) -> None:
        self.units = list(units)
        self._strict: dict[str, list[Unit]] = {}
        self._loose: dict[str, list[Unit]] = {}
        for unit in self.units:
            for label in unit_labels(unit):
                for index, key in ((self._strict, strict_key(label)), (self._loose, fold(label))):
                    found = index.setdefault(key, [])
                    if unit not in found:
                        found.append(unit)

    @classmethod
    def from_database(cls) -> UnitMatcher:
        return cls(db.session.scalars(select(Unit).order_by(Unit.code)))

    def match(self, text: str) -> Match:
        """The unit `text` names (see the module docstring)."""
        found = self._lookup(text)
        if not found:
            found = self._sub_unit(text)
        active = [unit for unit in found if unit.active]
        chosen = active or found
        result = Match(
            text, candidates=sorted(chosen, key=lambda u: u.code), inactive=not active and bool(found)
        )
        if len(chosen) == 1 and not result.inactive:
            result.unit = chosen[0]
        return result

    def _lookup(self, text: str) -> list[Unit]:
        return self._strict.get(strict_key(text)) or self._loose.get(fold(text)) or []

    def _sub_unit(self, text: str) -> list[Unit]:
        """ "X (Y)": the sub-units Y whose parent is X."""
        parts = _PARENTHESISED.match(tidy(text))
        if parts is None:
            return []
        parents = {unit.id for unit in self._lookup(parts["outer"])}
        inner = self._lookup(parts["inner"])
        return [unit for unit in inner if unit.parent_id in parents]


def lead_and_sub_unit(unit: Unit) -> tuple[Unit, Unit | None]:
    """A task's lead unit and lead sub-unit when the plan names `unit`: a sub-unit leads within its parent."""
    if unit.kind == UnitKind.SUB_UNIT and unit.parent is not None:
        return unit.parent, unit
    return unit, None
