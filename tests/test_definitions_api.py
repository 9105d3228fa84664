"""The admin process-definition API: list versions, upload a BPMN document, download it as uploaded.

Uploads go through the real HTTP path (bearer token, body limits, JSON errors). The rules of what may
run are workflows/definitions.py's (tests/test_deploy.py checks them on `deploy`); here: the status
codes, the forms an upload gets, that a refusal lists every problem in the user's words and stores
nothing, and that a download gives back the exact bytes.
"""

from __future__ import annotations

import io
import json

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, ProcessDefinition
from tests.engine_helpers import task, user
from workflows import problem_text
from workflows.bpmn_xml import MAX_BPMN_BYTES
from workflows.deploy import SHIPPED_BPMN_DIR
from workflows.engine import start_process
from workflows.forms import DEFAULT_DECISION_FORM

URL = "/api/v1/process-definitions"
SHIPPED_XML = (SHIPPED_BPMN_DIR / "draft_plan.bpmn").read_text(encoding="utf-8")
DRAFT_NAME = 'name="Soạn thảo dự thảo Kế hoạch"'
MINIMAL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs" targetNamespace="http://x">
  <!-- drawn by hand -->
  <bpmn:process id="{key}" name="Quy trình nhỏ" isExecutable="{executable}">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_a" name="Chuyên viên"><bpmn:flowNodeRef>step_x</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start_event"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:{kind} id="step_x" name="Bước X">{extensions}
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:{kind}>
    <bpmn:endEvent id="end_event"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start_event" targetRef="step_x" />
    <bpmn:sequenceFlow id="f2" sourceRef="step_x" targetRef="end_event" />
  </bpmn:process>
</bpmn:definitions>
"""
FORM_PROPERTY = (
    '<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="form" '
    'value="ghi_nhan" /></spiffworkflow:properties></bpmn:extensionElements>'
)
NOTE_FORM = {
    "type": "object",
    "required": ["note"],
    "properties": {"note": {"type": "string", "title": "Ghi chú"}},
}


def minimal(key="mini", executable="true", kind="userTask", extensions="") -> str:
    return MINIMAL.format(key=key, executable=executable, kind=kind, extensions=extensions)


def bearer(api_token, username="admin") -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token(username)}"}


def post_xml(client, headers, xml: str | bytes, content_type="application/xml"):
    body = xml.encode("utf-8") if isinstance(xml, str) else xml
    return client.post(URL, data=body, content_type=content_type, headers=headers)


def post_file(client, headers, xml: str | bytes, forms=None, filename="mini.bpmn"):
    body = xml.encode("utf-8") if isinstance(xml, str) else xml
    data = {"file": (io.BytesIO(body), filename)}
    if forms is not None:
        data["forms"] = forms if isinstance(forms, str) else json.dumps(forms, ensure_ascii=False)
    return client.post(URL, data=data, content_type="multipart/form-data", headers=headers)


def versions(key: str) -> list[ProcessDefinition]:
    db.session.expire_all()
    query = select(ProcessDefinition).where(ProcessDefinition.key == key).order_by(ProcessDefinition.version)
    return list(db.session.scalars(query))


def stored_state() -> tuple:
    """What an upload may change: the definitions and the audit trail."""
    db.session.expire_all()
    definitions = db.session.execute(select(ProcessDefinition.key, ProcessDefinition.version)).all()
    return sorted(definitions), db.session.scalar(select(db.func.count()).select_from(AuditEvent))


# --- uploading ------------------------------------------------------------------------------------


def test_a_changed_diagram_becomes_the_next_version_with_the_latest_forms(app, client, api_token):
    headers = bearer(api_token)
    xml = SHIPPED_XML.replace(DRAFT_NAME, 'name="Soạn thảo dự thảo (sửa)"')
    response = post_xml(client, headers, xml)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["key"], body["version"], body["created"]) == ("draft_plan", 2, True)
    assert response.headers["Location"].endswith("/process-definitions/draft_plan/2")
    v1, v2 = versions("draft_plan")
    assert v2.forms == v1.forms and v2.permissions == v1.permissions  # nothing but the diagram changed
    assert v2.bpmn_xml == xml and v2.deployed_by.username == "admin"
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (event.action, event.actor_username) == ("definition.deployed", "admin")
    assert (event.data["key"], event.data["version"]) == ("draft_plan", 2)


def test_the_same_document_again_is_200_and_stores_nothing(app, client, api_token):
    headers = bearer(api_token)
    before = stored_state()
    response = post_xml(client, headers, SHIPPED_XML, content_type="text/xml")
    assert response.status_code == 200
    assert response.get_json() | {"url": None} == {
        "key": "draft_plan",
        "version": 1,
        "created": False,
        "url": None,
    }
    assert stored_state() == before


def test_a_new_process_without_forms_gets_the_default_decision_form(app, client, api_token):
    response = post_file(client, bearer(api_token), minimal())
    assert response.status_code == 201, response.get_json()
    [v1] = versions("mini")
    assert v1.forms == {"step_x": DEFAULT_DECISION_FORM}
    assert v1.source == "mini.bpmn" and v1.name == "Quy trình nhỏ"


def test_forms_sent_with_the_file_are_the_version_s_forms(app, client, api_token):
    headers = bearer(api_token)
    xml = minimal(extensions=FORM_PROPERTY)
    refused = post_file(client, headers, xml)  # names a form nobody sent, and no earlier version has it
    assert refused.status_code == 422
    [problem] = refused.get_json()["details"]
    assert problem["element_id"] == "step_x" and "ghi_nhan" in problem["message"]
    assert versions("mini") == []
    response = post_file(client, headers, xml, forms={"ghi_nhan": NOTE_FORM})
    assert response.status_code == 201, response.get_json()
    assert versions("mini")[0].forms == {"ghi_nhan": NOTE_FORM}
    # the next upload without forms keeps them
    changed = xml.replace("Bước X", "Bước X (sửa)")
    assert post_file(client, headers, changed).status_code == 201
    assert versions("mini")[1].forms == {"ghi_nhan": NOTE_FORM}


def test_a_form_that_is_not_a_json_schema_is_a_422(app, client, api_token):
    response = post_file(client, bearer(api_token), minimal(), forms={"step_x": {"type": "objekt"}})
    assert response.status_code == 422
    assert "step_x" in response.get_json()["details"][0]["message"]


@pytest.mark.parametrize("forms", ["{not json", "[]", '{"step_x": "text"}'])
def test_forms_that_are_not_an_object_of_schemas_are_a_400(app, client, api_token, forms):
    response = post_file(client, bearer(api_token), minimal(), forms=forms)
    assert response.status_code == 400
    assert response.get_json()["details"] == {"forms": "form key → JSON Schema"}
    assert versions("mini") == []


def test_the_download_is_the_upload_byte_for_byte(app, client, api_token):
    headers = bearer(api_token)
    xml = "\ufeff" + minimal().replace("\n", "\r\n").replace("<!-- drawn by hand -->", "<!-- ghi chú  -->")
    assert post_xml(client, headers, xml).status_code == 201
    response = client.get(f"{URL}/mini/1", headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    assert response.data == xml.encode("utf-8")
    assert response.headers["Content-Disposition"].startswith("attachment")


def test_the_list_shows_every_version_and_its_instances(app, client, api_token):
    start_process(task("1.a"), user("cntt.cv"))
    headers = bearer(api_token)
    post_xml(client, headers, SHIPPED_XML.replace(DRAFT_NAME, 'name="Soạn thảo (v2)"'))
    response = client.get(URL, headers=headers)
    assert response.status_code == 200
    items = {(i["key"], i["version"]): i for i in response.get_json()["items"]}
    v1, v2 = items[("draft_plan", 1)], items[("draft_plan", 2)]
    assert {"key", "version", "name", "active", "instances"} <= v1.keys()
    assert (v1["instances"], v1["running"], v2["instances"]) == (1, 1, 0)
    assert v1["active"] is True and v2["deployed_by"] == user("admin").full_name
    assert client.get(v2["url"], headers=headers).status_code == 200
    only = client.get(URL, query_string={"key": "draft_plan"}, headers=headers).get_json()["items"]
    assert {i["key"] for i in only} == {"draft_plan"} and len(only) == 2


# --- refusals ---------------------------------------------------------------------------------------


def test_a_refusal_lists_each_problem_with_where_and_why_in_vietnamese(app, client, api_token):
    xml, headers = minimal(kind="serviceTask"), bearer(api_token)
    before = stored_state()
    response = post_xml(client, headers, xml)
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "the process cannot run here"
    [problem] = body["details"]
    line = next(n for n, text in enumerate(xml.splitlines(), 1) if '<bpmn:serviceTask id="step_x"' in text)
    assert problem["element_id"] == "step_x" and problem["element_name"] == "Bước X"
    assert problem["element_type"] == "serviceTask" and problem["line"] == line
    assert problem["message"].startswith(
        "Tác vụ dịch vụ 'Bước X' (mã step_x): hệ thống không có phần thực hiện"
    )
    assert stored_state() == before


def test_a_descriptive_diagram_is_called_non_executable(app, client, api_token):
    response = post_xml(client, bearer(api_token), minimal(executable="false"))
    assert response.status_code == 422
    [problem] = response.get_json()["details"]
    assert (problem["element_id"], problem["element_type"]) == ("mini", "process")
    assert "không thực thi được" in problem["message"] and "isExecutable" in problem["message"]


SECOND_PROCESS = """  <bpmn:process id="other" name="Quy trình khác" isExecutable="true">
    <bpmn:startEvent id="other_start"><bpmn:outgoing>g1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:endEvent id="other_end"><bpmn:incoming>g1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="g1" sourceRef="other_start" targetRef="other_end" />
  </bpmn:process>
</bpmn:definitions>"""


def test_every_blocking_element_is_listed_at_once(app, client, api_token):
    xml = minimal(kind="sendTask").replace("</bpmn:definitions>", SECOND_PROCESS)
    xml = xml.replace('<bpmn:endEvent id="end_event">', '<bpmn:endEvent id="end_event" name="Báo kết quả">')
    xml = xml.replace(
        "<bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>",
        '<bpmn:incoming>f2</bpmn:incoming><bpmn:messageEventDefinition id="m1" /></bpmn:endEvent>',
    )
    response = post_xml(client, bearer(api_token), xml)
    assert response.status_code == 422
    found = {(p["element_id"], p["element_type"]) for p in response.get_json()["details"]}
    assert found == {("step_x", "sendTask"), ("end_event", "endEvent"), ("other", "process")}
    assert versions("mini") == [] and versions("other") == []


def test_a_process_id_longer_than_its_column_is_refused(app, client, api_token):
    key = "quy_trinh_" + "x" * 100
    response = post_xml(client, bearer(api_token), minimal(key=key))
    assert response.status_code == 422
    [problem] = response.get_json()["details"]
    assert (problem["element_id"], problem["element_type"]) == (key, "process")
    assert "100" in problem["message"]


def test_every_message_a_deploy_can_report_is_in_the_vietnamese_catalogue(app):
    texts = [
        *problem_text.TEMPLATES,
        *problem_text.ELEMENT_TYPES.values(),
        problem_text.UNKNOWN,
        problem_text.NAMED,
        problem_text.UNNAMED,
        problem_text.AT_LINE,
        problem_text.WITH_LINE,
    ]
    with app.test_request_context(), force_locale("vi"):
        untranslated = [text for text in texts if gettext(text) == text]
    assert untranslated == []


def test_english_messages_name_the_element_too(app):
    from workflows.problems import Problem

    problem = Problem("no form 'ghi_nhan'", "step_x", "Bước\nX", 12, "userTask")
    with app.test_request_context(), force_locale("en"):
        assert problem_text.describe(problem) == "User task 'Bước X' (id step_x): no form 'ghi_nhan'"
    with app.test_request_context(), force_locale("vi"):
        text = problem_text.describe(problem)
    assert text == "Bước do người thực hiện (user task) 'Bước X' (mã step_x): chưa có biểu mẫu 'ghi_nhan'"


# --- the request itself -------------------------------------------------------------------------------


def test_a_json_body_is_415_and_a_multipart_without_file_is_400(app, client, api_token):
    headers = bearer(api_token)
    assert client.post(URL, json={"xml": minimal()}, headers=headers).status_code == 415
    response = client.post(URL, data={"forms": "{}"}, content_type="multipart/form-data", headers=headers)
    assert response.status_code == 400 and response.get_json()["details"] == {"file": "required"}


def test_an_empty_or_non_utf8_document_is_a_422(app, client, api_token):
    headers = bearer(api_token)
    assert post_xml(client, headers, b"").status_code == 422
    response = post_xml(client, headers, minimal().replace("Bước X", "Bu\u0301o\u031bc").encode("utf-16"))
    assert response.status_code == 422
    assert "UTF-8" in response.get_json()["details"][0]["message"]


def test_over_2_mb_is_413_as_a_body_or_as_a_file(app, client, api_token):
    headers = bearer(api_token)
    padding = "<!--" + "x" * MAX_BPMN_BYTES + "-->\n"
    xml = minimal().replace("<!-- drawn by hand -->", padding)
    as_body = post_xml(client, headers, xml)
    assert as_body.status_code == 413 and as_body.is_json
    assert as_body.get_json()["error"] == "the document is larger than 2 MB"
    as_file = post_file(client, headers, xml)
    assert as_file.status_code == 413 and as_file.is_json
    way_too_large = post_file(client, headers, xml + padding)  # over the whole request's bound
    assert way_too_large.status_code == 413 and way_too_large.is_json
    assert versions("mini") == []


def test_a_document_of_exactly_2_mb_is_not_too_large(app, client, api_token):
    xml = minimal()
    xml = xml.replace(
        "<!-- drawn by hand -->", "<!--" + "x" * (MAX_BPMN_BYTES - len(xml.encode()) + 15) + "-->"
    )
    assert len(xml.encode("utf-8")) == MAX_BPMN_BYTES
    assert post_file(client, bearer(api_token), xml).status_code == 201


def test_an_unknown_version_is_a_404(app, client, api_token):
    headers = bearer(api_token)
    assert client.get(f"{URL}/draft_plan/99", headers=headers).status_code == 404
    assert client.get(f"{URL}/nothing/1", headers=headers).get_json()["error"]


# --- who may ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", [None, "cntt.cv", "cntt.tp", "giamdoc", "giamsat"])
def test_only_admins_use_the_definition_api(app, client, api_token, username):
    headers = bearer(api_token, username) if username else {}
    expected = 403 if username else 401
    before = stored_state()
    xml = SHIPPED_XML.replace(DRAFT_NAME, 'name="Soạn thảo (trái phép)"')
    assert post_xml(client, headers, xml).status_code == expected
    assert post_file(client, headers, minimal()).status_code == expected
    assert client.get(URL, headers=headers).status_code == expected
    download = client.get(f"{URL}/draft_plan/1", headers=headers)
    assert download.status_code == expected and b"bpmn:definitions" not in download.data
    assert stored_state() == before
