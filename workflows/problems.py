"""Problems found in a BPMN document, reported the way a modeller can act on them.

`message` is the reason in English (what logs and tests read); workflows/problem_text.py renders it
for people, translated, as a sentence naming the element ("Service task 'Check credit' (id ...): ...").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Problem:
    message: str
    element_id: str | None = None
    element_name: str | None = None
    line: int | None = None
    element_type: str | None = None  # the element's BPMN tag without namespace, e.g. "serviceTask"

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        where = self.element_id or "document"
        line = f" (line {self.line})" if self.line else ""
        return f"{where}{line}: {self.message}"


class DefinitionError(ValueError):
    """A BPMN document (or its forms) that cannot run here; `problems` lists every reason."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems
