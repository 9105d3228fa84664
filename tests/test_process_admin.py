"""The admin's process pages (app/process_admin): the list of versions, the modeler page, drafts saved
valid or not with every problem listed, the form preview, deploys as new versions, .bpmn download and
upload. Admins only; everything audited."""

from __future__ import annotations

import html
import json
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, ProcessDefinition, ProcessDraft, ProcessInstance
from app.templating import vn_datetime
from tests.conftest import csrf_token_from
from tests.engine_helpers import task, user
from tests.test_deploy import SHIPPED_FORMS, SHIPPED_XML, line_of
from workflows.engine import start_process

INDEX = "/admin/processes"
MODELER = "/admin/processes/modeler"
RENAMED = SHIPPED_XML.replace('name="Trình UBND tỉnh ban hành"', 'name="Trình UBND tỉnh ký ban hành"')
# draft: an unknown role; collect_opinions: a due time that is not a duration
INVALID = SHIPPED_XML.replace(
    '<spiffworkflow:property name="roles" value="specialist" />',
    '<spiffworkflow:property name="roles" value="accountant" />',
    1,
).replace(
    '<spiffworkflow:property name="due" value="P10D" />',
    '<spiffworkflow:property name="due" value="10 ngày" />',
)
FORMS_TEXT = {key: json.dumps(schema, ensure_ascii=False, indent=2) for key, schema in SHIPPED_FORMS.items()}


def token(client) -> str:
    return csrf_token_from(client.get(INDEX).get_data(as_text=True))


def post(client, url: str, **fields):
    return client.post(url, data={"csrf_token": token(client), **fields})


def save(client, xml: str, forms=None, **fields):
    forms_text = json.dumps(FORMS_TEXT if forms is None else forms, ensure_ascii=False)
    return post(client, "/admin/processes/drafts", xml=xml, forms=forms_text, **fields)


def draft_id_of(response) -> int:
    assert response.status_code == 303, response.status_code
    return int(re.search(r"draft=(\d+)", response.headers["Location"]).group(1))


def source_of(page: str) -> str:
    return html.unescape(
        re.search(r'<textarea id="modeler-source"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    )


def problems_of(page: str) -> list[dict]:
    return json.loads(html.unescape(re.search(r"data-problems='([^']*)'", page).group(1)))


def audit(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
    )


def versions(key="draft_plan") -> list[int]:
    db.session.expire_all()
    return list(db.session.scalars(select(ProcessDefinition.version).where(ProcessDefinition.key == key)))


def count_drafts() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(ProcessDraft))


@pytest.fixture
def admin(auth):
    assert auth.login("admin").status_code == 302


# --- who may ------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["cntt.cv", "cntt.tp", "giamdoc", "giamsat"])
def test_only_admins_reach_the_process_pages(client, auth, username):
    assert auth.login(username).status_code == 302
    for url in (
        INDEX,
        MODELER,
        f"{MODELER}?key=draft_plan&version=1",
        "/admin/processes/download?key=draft_plan&version=1",
    ):
        assert client.get(url).status_code == 403, url
    changes = {
        "/admin/processes/drafts": {"xml": SHIPPED_XML, "forms": "{}"},
        "/admin/processes/deploy": {"draft_id": "1"},
        "/admin/processes/discard": {"draft_id": "1"},
        "/admin/processes/upload": {},
        "/admin/processes/form-preview": {"schema": "{}"},
    }
    page_token = csrf_token_from(client.get("/plans").get_data(as_text=True))
    for url, fields in changes.items():
        assert client.post(url, data={"csrf_token": page_token, **fields}).status_code == 403, url
    assert count_drafts() == 0
    assert 'id="nav-processes"' not in client.get("/plans").get_data(as_text=True)


def test_saving_needs_the_csrf_token(client, admin):
    response = client.post("/admin/processes/drafts", data={"xml": SHIPPED_XML, "forms": "{}"})
    assert response.status_code == 400
    assert count_drafts() == 0


# --- the list -----------------------------------------------------------------------------------


def test_the_list_shows_each_version_who_deployed_it_when_and_what_runs_on_it(client, admin):
    start_process(task("1.a"), user("cntt.cv"))  # on version 1
    draft_id = draft_id_of(save(client, RENAMED, based_on_version="1", key="draft_plan"))
    assert post(client, "/admin/processes/deploy", draft_id=str(draft_id)).status_code == 303
    start_process(task("1.b"), user("cntt.cv"))  # on version 2, now the latest

    page = client.get(INDEX).get_data(as_text=True)
    assert 'id="nav-processes"' in page
    table = page[page.index('id="versions-draft_plan"') :]
    table = table[: table.index("</table>")]
    rows = {int(n): row for n, row in re.findall(r'<tr data-version="(\d+)">(.*?)</tr>', table, re.S)}
    assert sorted(rows) == [1, 2]
    v1, v2 = (
        db.session.scalar(select(ProcessDefinition).filter_by(key="draft_plan", version=n)) for n in (1, 2)
    )
    assert "Hệ thống" in rows[1] and "Quản trị hệ thống" in rows[2]
    for definition in (v1, v2):
        row = rows[definition.version]
        assert f'data-col="deployed-at">{vn_datetime(definition.deployed_at)}<' in row
        assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", vn_datetime(definition.deployed_at))
        assert f"{MODELER}?key=draft_plan&amp;version={definition.version}" in row
        assert f"/admin/processes/download?key=draft_plan&amp;version={definition.version}" in row
        assert 'data-col="running">1<' in row and 'data-col="instances">1<' in row
    assert "mới nhất" in rows[2]
    assert 'href="/admin/processes/draft_plan/2/migration"' in rows[2]
    assert "/migration" not in rows[1]  # nothing older to move onto version 1
    assert 'href="/admin/processes/modeler"' in page  # the "new process" button


# --- the modeler page and drafts ----------------------------------------------------------------


def test_the_modeler_opens_a_version_and_a_new_process(client, admin):
    page = client.get(f"{MODELER}?key=draft_plan&version=1").get_data(as_text=True)
    assert source_of(page) == SHIPPED_XML
    assert "bpmn-modeler.production.min.js" in page and "js/process-modeler.js" in page
    assert 'data-mode="version"' in page and 'id="deploy-button"' not in page
    assert 'data-task-code="1.a"' in page  # the tasks whose type runs this process
    assert client.get(f"{MODELER}?key=draft_plan&version=9").status_code == 404
    assert client.get(f"{MODELER}?draft=99").status_code == 404

    starter = client.get(MODELER).get_data(as_text=True)
    assert 'data-mode="new"' in starter
    xml = source_of(starter)
    for needed in ("<bpmn:startEvent", "<bpmn:userTask", "<bpmn:endEvent", "<bpmn:lane ", "bpmndi:BPMNShape"):
        assert needed in xml


def test_a_valid_draft_is_saved_audited_and_can_be_deployed(client, admin):
    response = save(client, RENAMED, based_on_version="1", key="draft_plan")
    draft = db.session.get(ProcessDraft, draft_id_of(response))
    assert (draft.key, draft.based_on_version, draft.problems, draft.revision) == ("draft_plan", 1, [], 1)
    assert draft.xml == RENAMED and draft.forms == SHIPPED_FORMS
    (saved,) = audit("definition.draft_saved")
    assert (
        saved.actor_username == "admin" and saved.data["draft_id"] == draft.id and saved.data["problems"] == 0
    )

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="draft-state" data-state="valid"' in page
    assert re.search(r'id="deploy-button"(?![^>]*disabled)', page)
    assert "Đã lưu bản nháp" in page


def test_an_invalid_draft_is_kept_and_every_problem_is_listed_and_marked(client, admin):
    response = save(client, INVALID, based_on_version="1", key="draft_plan")
    draft = db.session.get(ProcessDraft, draft_id_of(response))
    assert draft.xml == INVALID  # nothing lost
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    problems = {p["element_id"]: p for p in problems_of(page)}
    assert set(problems) >= {"draft", "collect_opinions"}
    assert problems["draft"]["element_name"] == "Soạn thảo dự thảo Kế hoạch"
    assert problems["draft"]["line"] == line_of(INVALID, 'id="draft"')
    assert "vai trò 'accountant' không tồn tại" in problems["draft"]["reason"]
    assert "10 ngày" in problems["collect_opinions"]["reason"]
    table = html.unescape(page[page.index('id="problems-table"') :])
    assert 'data-element-id="draft"' in table and "vai trò 'accountant' không tồn tại" in table
    assert re.search(r'id="deploy-button"[^>]*disabled', page)

    refused = post(client, "/admin/processes/deploy", draft_id=str(draft.id))
    assert refused.status_code == 422
    assert "Chưa triển khai bản nháp" in refused.get_data(as_text=True)
    assert versions() == [1] and count_drafts() == 1


def test_a_form_that_is_not_json_is_kept_as_typed_and_named(client, admin):
    forms = {**FORMS_TEXT, "consolidate": '{"type": "object",'}
    draft = db.session.get(
        ProcessDraft, draft_id_of(save(client, SHIPPED_XML, forms, based_on_version="1", key="draft_plan"))
    )
    assert draft.forms["consolidate"] == '{"type": "object",'
    page = html.unescape(client.get(f"{MODELER}?draft={draft.id}").get_data(as_text=True))
    assert "biểu mẫu 'consolidate' không phải JSON hợp lệ" in page


def test_a_new_process_with_the_id_of_a_deployed_one_cannot_replace_it(client, admin):
    xml = source_of(client.get(MODELER).get_data(as_text=True)).replace("new_process", "draft_plan")
    draft = db.session.get(ProcessDraft, draft_id_of(save(client, xml, {}, key="new_process")))
    assert draft.based_on_version is None
    assert any("đã được dùng" in p.reason for p in _shown(draft))
    assert post(client, "/admin/processes/deploy", draft_id=str(draft.id)).status_code == 422
    assert versions() == [1]


def _shown(draft):
    from app.services.definition_problems import shown

    return shown(draft.problems)


def test_a_save_on_an_older_revision_becomes_a_new_draft(client, admin):
    first = draft_id_of(save(client, RENAMED, based_on_version="1", key="draft_plan"))
    assert draft_id_of(save(client, RENAMED, draft_id=str(first), revision="1")) == first
    forked = draft_id_of(save(client, SHIPPED_XML, draft_id=str(first), revision="1"))  # revision is 2 now
    assert forked != first
    assert db.session.get(ProcessDraft, first).xml == RENAMED
    assert db.session.get(ProcessDraft, forked).based_on_version == 1


def test_malformed_xml_posted_as_a_draft_is_refused_with_a_message(client, admin):
    response = save(client, "<bpmn:definitions", key="draft_plan", based_on_version="1")
    assert response.status_code == 422
    assert "tệp không phải XML hợp lệ" in response.get_data(as_text=True)
    assert count_drafts() == 0


# --- deploying ----------------------------------------------------------------------------------


def test_deploying_a_valid_draft_makes_version_2_and_keeps_running_work_on_version_1(client, admin):
    instance_task = task("1.a")
    start_process(instance_task, user("cntt.cv"))
    draft_id = draft_id_of(save(client, RENAMED, based_on_version="1", key="draft_plan"))
    before = len(audit("definition.deployed"))

    response = post(client, "/admin/processes/deploy", draft_id=str(draft_id))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"{INDEX}?deployed=draft_plan&version=2")
    assert versions() == [1, 2]
    v1, v2 = (
        db.session.scalar(select(ProcessDefinition).filter_by(key="draft_plan", version=n)) for n in (1, 2)
    )
    assert v2.bpmn_xml == RENAMED and v2.deployed_by.username == "admin"
    assert v2.permissions == v1.permissions  # the modeler does not edit permission maps: kept
    assert v1.bpmn_xml == SHIPPED_XML
    instance = db.session.scalar(select(ProcessInstance).where(ProcessInstance.task_id == instance_task.id))
    assert instance.definition_id == v1.id
    deployed = audit("definition.deployed")
    assert len(deployed) == before + 1
    assert deployed[-1].actor_username == "admin" and deployed[-1].data["version"] == 2
    assert db.session.get(ProcessDraft, draft_id) is None

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="deployed-notice"' in page and "Đã triển khai draft_plan phiên bản 2" in page


def test_a_new_process_from_the_starter_diagram_deploys_as_version_1(client, admin):
    xml = source_of(client.get(MODELER).get_data(as_text=True))
    draft_id = draft_id_of(save(client, xml, {}, key="new_process"))
    assert db.session.get(ProcessDraft, draft_id).problems == []
    assert post(client, "/admin/processes/deploy", draft_id=str(draft_id)).status_code == 303
    assert versions("new_process") == [1]
    assert 'id="process-new_process"' in client.get(INDEX).get_data(as_text=True)


def test_deploying_a_draft_identical_to_the_latest_version_makes_no_version(client, admin):
    draft_id = draft_id_of(save(client, SHIPPED_XML, based_on_version="1", key="draft_plan"))
    response = post(client, "/admin/processes/deploy", draft_id=str(draft_id))
    assert response.status_code == 303 and response.headers["Location"].endswith(f"?draft={draft_id}")
    assert versions() == [1] and count_drafts() == 1
    assert "giống hệt phiên bản 1" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_ids_that_fit_no_column_are_not_found(client, admin):
    huge = str(10**30)
    assert client.get(f"{MODELER}?draft={huge}").status_code == 404
    assert client.get(f"{MODELER}?key=draft_plan&version={huge}").status_code == 404
    assert post(client, "/admin/processes/deploy", draft_id=huge).status_code == 404
    assert save(client, RENAMED, draft_id=huge).status_code == 404
    assert count_drafts() == 0


def test_discarding_a_draft_is_audited(client, admin):
    draft_id = draft_id_of(save(client, RENAMED, based_on_version="1", key="draft_plan"))
    assert post(client, "/admin/processes/discard", draft_id=str(draft_id)).status_code == 303
    assert count_drafts() == 0
    (discarded,) = audit("definition.draft_discarded")
    assert discarded.data["draft_id"] == draft_id and discarded.actor_username == "admin"


# --- download and upload ------------------------------------------------------------------------


def test_download_returns_the_xml_of_a_version_and_of_a_draft(client, admin):
    response = client.get("/admin/processes/download?key=draft_plan&version=1")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == SHIPPED_XML
    assert response.headers["Content-Disposition"] == 'attachment; filename="draft_plan-v1.bpmn"'
    draft_id = draft_id_of(save(client, RENAMED, based_on_version="1", key="draft_plan"))
    assert client.get(f"/admin/processes/download?draft={draft_id}").get_data(as_text=True) == RENAMED
    assert client.get("/admin/processes/download").status_code == 404
    assert client.get("/admin/processes/download?draft=77").status_code == 404


def upload(client, content: bytes, name="plan.bpmn", **fields):
    from io import BytesIO

    data = {"csrf_token": token(client), "file": (BytesIO(content), name), **fields}
    return client.post("/admin/processes/upload", data=data, content_type="multipart/form-data")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"<bpmn:definitions xmlns:bpmn='x'><bpmn:process", "tệp không phải XML hợp lệ"),
        (b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>', "DTD"),
        (b"", "tệp rỗng"),
        ("<bpmn:definitions/>".encode("utf-16"), "UTF-8"),
        (b"<notes><note/></notes>", "tệp không có quy trình nào"),
    ],
)
def test_an_upload_that_cannot_be_read_gives_a_message_and_stores_nothing(client, admin, content, words):
    before = len(audit("definition.draft_saved"))
    response = upload(client, content)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="upload-refusal"' in page and words in page
    assert count_drafts() == 0 and len(audit("definition.draft_saved")) == before


def test_an_uploaded_file_of_a_deployed_process_becomes_a_draft_of_its_next_version(client, admin):
    response = upload(client, RENAMED.encode("utf-8"), "draft_plan.bpmn")
    draft = db.session.get(ProcessDraft, draft_id_of(response))
    assert (draft.key, draft.based_on_version, draft.problems) == ("draft_plan", 1, [])
    assert draft.xml == RENAMED and draft.forms == SHIPPED_FORMS
    (saved,) = audit("definition.draft_saved")
    assert saved.data["source"] == "upload"

    # into the open draft: its diagram is replaced, its forms kept
    again = upload(client, SHIPPED_XML.encode("utf-8"), draft_id=str(draft.id), key="draft_plan")
    assert draft_id_of(again) == draft.id
    db.session.expire_all()
    assert db.session.get(ProcessDraft, draft.id).xml == SHIPPED_XML


# --- the form preview ---------------------------------------------------------------------------


def preview(client, **fields):
    return post(client, "/admin/processes/form-preview", **fields)


def test_the_preview_renders_a_form_as_the_step_page_does(client, admin):
    response = preview(client, schema=FORMS_TEXT["draft"])
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert 'data-preview-state="ok"' in fragment
    for name in SHIPPED_FORMS["draft"]["properties"]:
        assert f'data-field="{name}"' in fragment
    assert "Văn phòng Sở" in fragment  # x-options consultable_units, filled by the server
    assert "<html" not in fragment


def test_the_preview_says_what_is_wrong_with_a_form(client, admin):
    response = preview(client, schema='{"type": "object",\n "properties": }')
    assert response.status_code == 422
    fragment = response.get_data(as_text=True)
    assert 'data-preview-state="invalid"' in fragment and "không phải JSON hợp lệ" in fragment
    assert "dòng 2" in fragment
    for schema in ('{"type": 5}', "[1, 2]", '{"properties": {"a": true}}'):
        assert preview(client, schema=schema).status_code == 422, schema


def test_the_preview_of_no_form_is_the_default_decision_form(client, admin):
    fragment = preview(client, schema="", default="1").get_data(as_text=True)
    assert 'data-field="decision"' in fragment and "Đồng ý" in fragment
