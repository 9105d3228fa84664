"""Reading BPMN XML safely: no DTDs, no entities, no network, bounded size."""

from __future__ import annotations

import re

from lxml import etree

from workflows.problems import DefinitionError, Problem

MAX_BPMN_BYTES = 2 * 1024 * 1024
_DTD_PATTERN = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class DocumentTooLarge(DefinitionError):
    pass


def parse_bpmn_xml(source: str | bytes) -> etree._Element:
    """The document's root element; refuses DTDs and entities before parsing (XXE, billion laughs)."""
    raw = source.encode("utf-8") if isinstance(source, str) else source
    if len(raw) > MAX_BPMN_BYTES:
        raise DocumentTooLarge([Problem(f"the document is larger than {MAX_BPMN_BYTES // 1024 // 1024} MB")])
    match = _DTD_PATTERN.search(raw)
    if match:
        line = raw.count(b"\n", 0, match.start()) + 1
        raise DefinitionError([Problem("DTDs and entity declarations are not allowed", line=line)])
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=False
    )
    try:
        return etree.fromstring(raw, parser)
    except etree.XMLSyntaxError as error:
        line = error.lineno if error.lineno else None
        raise DefinitionError([Problem(f"malformed XML: {error.msg}", line=line)]) from None


def element_line(root: etree._Element, element_id: str | None) -> int | None:
    """The source line of the element with this id (SpiffWorkflow leaves it empty for semantic errors)."""
    if not element_id:
        return None
    found = root.xpath("//*[@id=$id]", id=element_id)
    return found[0].sourceline if found else None


def element_name(root: etree._Element, element_id: str | None) -> str | None:
    if not element_id:
        return None
    found = root.xpath("//*[@id=$id]", id=element_id)
    return found[0].get("name") if found else None
