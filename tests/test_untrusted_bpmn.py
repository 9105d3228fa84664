"""BPMN is untrusted input: hostile documents through the HTTP upload, and forced past it.

Uploaded through `POST /api/v1/process-definitions` as an admin would (or an attacker holding an
admin's token): code that escapes (a script `import os`, a condition `__import__('os').system(...)`,
the `().__class__.__base__.__subclasses__()` escape), an external entity reading a local file, an
entity expansion bomb, malformed or oversized XML — each is refused with the element (or line) named
and nothing stored. Then the same documents forced into the database past every check and used
through the HTTP API (start, complete, download, the task's diagram): refused without a 5xx, no file
created, nothing half-written, no local file's content in any answer.

workflows' own tests cover the same payloads one layer down (tests/test_deploy.py on `deploy`,
tests/test_sandbox.py on the sandbox, tests/test_engine_sandbox.py on workflows.engine).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.models import ProcessDefinition
from app.services.clock import utcnow
from tests.audit_helpers import comparable_rows
from tests.engine_helpers import form_of, open_item, sample_data, task
from tests.test_engine_sandbox import IMPORT_CALL, SUBCLASSES, diagram, force_definition
from workflows.bpmn_xml import MAX_BPMN_BYTES
from workflows.forms import DEFAULT_DECISION_FORM
from workflows.runtime import stored_spec

URL = "/api/v1/process-definitions"
TABLES = ("process_definitions", "process_instances", "work_items", "audit_events", "tasks")
PASSWD = Path("/etc/passwd")
# variant -> (where the code sits, the code, the element the refusal must name, start with the code?)
PAYLOADS = {
    "script-import-os": ("script", "import os\nos.system('touch {marker}')", "script_evil"),
    "condition-import-call": ("condition", IMPORT_CALL + " == 0", "flow_evil"),
    "condition-subclasses": ("condition", SUBCLASSES + " == 0", "flow_evil"),
    "script-subclasses": ("script", "result = " + SUBCLASSES, "script_evil"),
}


def snapshot() -> dict:
    db.session.expire_all()
    return {table: db.session.execute(text(comparable_rows(table))).all() for table in TABLES}


@pytest.fixture
def admin(api_token) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token('admin')}"}


def upload(client, headers, xml: str | bytes):
    body = xml.encode("utf-8") if isinstance(xml, str) else xml
    return client.post(URL, data=body, content_type="application/xml", headers=headers)


def refused(client, headers, xml: str | bytes, status: int = 422) -> list[dict]:
    """The problems of a refused upload, after checking nothing was stored."""
    before = snapshot()
    response = upload(client, headers, xml)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert snapshot() == before
    return response.get_json()["details"]


def payload(variant: str, tmp_path: Path, at_start: bool = False) -> tuple[str, str, str, Path]:
    where, code, element_id = PAYLOADS[variant]
    marker = tmp_path / f"pwned-{variant}"
    key = "evil_" + variant.replace("-", "_")
    return key, diagram(key, where, code.format(marker=marker), at_start=at_start), element_id, marker


# --- refused at upload --------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", PAYLOADS)
def test_code_that_escapes_is_refused_naming_its_element(app, client, admin, tmp_path, variant):
    key, xml, element_id, marker = payload(variant, tmp_path)
    [problem] = refused(client, admin, xml)
    assert problem["element_id"] == element_id and problem["line"]
    assert problem["element_type"] == ("scriptTask" if element_id == "script_evil" else "sequenceFlow")
    assert f"(mã {element_id}): " in problem["message"] and "không chạy được ở đây" in problem["message"]
    assert not marker.exists()
    assert db.session.scalars(select(ProcessDefinition).where(ProcessDefinition.key == key)).all() == []


def _with_doctype(xml: str, doctype: str, reference: str) -> str:
    declaration, rest = xml.split("\n", 1)
    return f"{declaration}\n{doctype}\n" + rest.replace('name="Bước một"', f'name="{reference}"', 1)


def _secret(tmp_path: Path) -> tuple[Path, str]:
    secret = f"secret-{hashlib.sha256(str(tmp_path).encode()).hexdigest()[:16]}"
    path = tmp_path / "secret.txt"
    path.write_text(secret, encoding="utf-8")
    return path, secret


def _safe_diagram(key: str) -> str:
    return diagram(key, "condition", "decision == 'approve'")


LAUGHS = (
    '<!DOCTYPE bpmn:definitions [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    )
    + "]>"
)


@pytest.mark.parametrize("target", ["secret-file", "etc-passwd"])
def test_an_external_entity_is_refused_and_never_read(app, client, admin, tmp_path, target):
    path, secret = _secret(tmp_path)
    if target == "etc-passwd":
        if not PASSWD.is_file():
            pytest.skip("no /etc/passwd here")
        path, secret = PASSWD, PASSWD.read_text(encoding="utf-8", errors="replace").splitlines()[0]
    doctype = f'<!DOCTYPE bpmn:definitions [<!ENTITY xxe SYSTEM "file://{path}">]>'
    xml = _with_doctype(_safe_diagram("xxe"), doctype, "&xxe;").replace("Quy trình thử", "&xxe;")
    before = snapshot()
    response = upload(client, admin, xml)
    assert response.status_code == 422
    [problem] = response.get_json()["details"]
    assert problem["line"] == 2 and "DTD" in problem["message"]
    assert secret not in response.get_data(as_text=True)
    assert snapshot() == before


def test_an_entity_expansion_bomb_is_refused_at_once(app, client, admin):
    xml = _with_doctype(_safe_diagram("laughs"), LAUGHS, "&lol9;")
    started = time.monotonic()
    [problem] = refused(client, admin, xml)
    assert time.monotonic() - started < 2
    assert problem["line"] == 2 and "lollollol" not in problem["message"]


def test_malformed_xml_is_refused_with_its_line(app, client, admin):
    xml = _safe_diagram("broken").replace('<bpmn:userTask id="step_one"', '<bpmn:userTask id="step_one" <', 1)
    [problem] = refused(client, admin, xml)
    line = next(n for n, row in enumerate(xml.splitlines(), 1) if 'id="step_one" <' in row)
    assert problem["line"] == line and problem["element_id"] is None
    assert problem["message"].startswith(f"Dòng {line}: tệp không phải XML hợp lệ")


def test_a_nesting_bomb_is_refused_not_crashed_on(app, client, admin):
    depth = 100_000
    bomb = _safe_diagram("deep").replace(
        "<bpmn:endEvent", "<x>" * depth + "</x>" * depth + "<bpmn:endEvent", 1
    )
    assert len(bomb.encode()) < MAX_BPMN_BYTES
    refused(client, admin, bomb)
    refused(client, admin, "<x>" * (MAX_BPMN_BYTES // 3 + 1), status=413)


# --- forced into the database, then used through the API ---------------------------------------------------


def _start(client, api_token, key: str):
    headers = {"Authorization": f"Bearer {api_token('cntt.cv')}"}
    return client.post(
        f"/api/v1/tasks/{task('1.a').id}/start", json={"process": key}, headers=headers
    ), headers


@pytest.mark.parametrize("variant", PAYLOADS)
def test_forced_code_fails_harmlessly_when_the_step_is_completed(app, client, api_token, tmp_path, variant):
    key, xml, _, marker = payload(variant, tmp_path)
    force_definition(xml, key)
    started, headers = _start(client, api_token, key)
    assert started.status_code == 201, started.get_json()
    item = open_item(task("1.a"), "step_one")
    data = sample_data(form_of(item), decision="approve")
    before = snapshot()
    response = client.post(f"/api/v1/work-items/{item.id}/complete", json={"data": data}, headers=headers)
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)[:300]
    assert not marker.exists()
    assert snapshot() == before
    assert open_item(task("1.a"), "step_one").id == item.id  # the step is still open, as it was


def test_forced_code_at_the_start_starts_nothing(app, client, api_token, tmp_path):
    key, xml, _, marker = payload("script-import-os", tmp_path, at_start=True)
    force_definition(xml, key)
    api_token("cntt.cv")  # the token's own rows before the snapshot
    before = snapshot()
    response, _ = _start(client, api_token, key)
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)[:300]
    assert not marker.exists()
    assert snapshot() == before


def _force_document(key: str, stored_xml: str) -> ProcessDefinition:
    """A version whose spec is a safe diagram's but whose stored document carries entities."""
    from tests.test_engine_sandbox import _parse_unrestricted

    spec, subprocess_specs = _parse_unrestricted(_safe_diagram(key), key)
    definition = ProcessDefinition(
        key=key,
        version=1,
        name="Quy trình thử",
        bpmn_xml=stored_xml,
        checksum=hashlib.sha256(stored_xml.encode("utf-8")).hexdigest(),
        forms={"step_one": DEFAULT_DECISION_FORM},
        spec=stored_spec(spec, subprocess_specs),
        source="forced.bpmn",
        active=True,
        deployed_at=utcnow(),
    )
    db.session.add(definition)
    db.session.commit()
    return definition


ENTITY_KINDS = ["xxe", "laughs"]


def _entity_document(tmp_path: Path, kind: str) -> tuple[str, str, str]:
    """(key, stored document, secret): a safe diagram whose stored text declares entities."""
    path, secret = _secret(tmp_path)
    doctype = (
        f'<!DOCTYPE bpmn:definitions [<!ENTITY xxe SYSTEM "file://{path}">]>' if kind == "xxe" else LAUGHS
    )
    reference = "&xxe;" if kind == "xxe" else "&lol9;"
    key = f"forced_{kind}"
    return key, _with_doctype(_safe_diagram(key), doctype, reference), secret


def _leaks(body: str, secret: str) -> bool:
    return secret in body or "lollollollollol" in body


@pytest.mark.parametrize("kind", ENTITY_KINDS)
def test_a_forced_document_with_entities_downloads_unexpanded(app, client, api_token, admin, tmp_path, kind):
    key, stored, secret = _entity_document(tmp_path, kind)
    _force_document(key, stored)
    download = client.get(f"{URL}/{key}/1", headers=admin)
    assert download.status_code == 200 and download.data == stored.encode("utf-8")
    assert not _leaks(download.get_data(as_text=True), secret)
    started, _ = _start(client, api_token, key)  # the spec is what runs: the document is never parsed
    assert started.status_code == 201, started.get_json()


@pytest.mark.parametrize("kind", ENTITY_KINDS)
def test_a_forced_document_with_entities_shows_its_diagram(app, client, auth, api_token, tmp_path, kind):
    key, stored, secret = _entity_document(tmp_path, kind)
    _force_document(key, stored)
    assert _start(client, api_token, key)[0].status_code == 201
    auth.login("cntt.cv")
    begun = time.monotonic()
    shown = client.get(f"/tasks/{task('1.a').id}/diagram")
    assert time.monotonic() - begun < 2 and not _leaks(shown.get_data(as_text=True), secret)
    assert shown.status_code == 200
