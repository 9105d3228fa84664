"""Task files: upload, list, download and versions through the web (with CSRF) and the API; size and type
limits by content, not only by name; nothing escapes the storage folder; who may upload and download.

Task 1.a is led by CNTT (cntt.cv, cntt.tp); hts.cv is of another unit; giamsat reads and changes nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Attachment, AuditEvent, TaskState
from app.services.attachments import TYPES, Upload, clean_filename, file_path, storage_root, store
from tests.conftest import csrf_token_from
from tests.engine_helpers import dump_tables, open_item, task, user
from workflows.deploy import SHIPPED_BPMN_DIR, deploy
from workflows.engine import start_process
from workflows.errors import InvalidData, NotFound
from workflows.forms import load_forms

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64


def zipped(**members: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in members.items():
            archive.writestr(name.replace("__", "/"), text)
    return buffer.getvalue()


DOCX = zipped(**{"[Content_Types].xml": "<Types/>", "word__document.xml": "<w:document/>"})
XLSX = zipped(**{"[Content_Types].xml": "<Types/>", "xl__workbook.xml": "<workbook/>"})
ODT = zipped(mimetype="application/vnd.oasis.opendocument.text", **{"content.xml": "<office/>"})
ODS = zipped(mimetype="application/vnd.oasis.opendocument.spreadsheet", **{"content.xml": "<office/>"})


@pytest.fixture
def files_dir(app, tmp_path) -> Path:
    folder = tmp_path / "files"
    app.config["ATTACHMENTS_DIR"] = str(folder)
    return folder


def bearer(api_token, username: str) -> dict:
    return {"Authorization": f"Bearer {api_token(username)}"}


def api_upload(client, headers, task_id, content=PDF, filename="to-trinh.pdf", name="Tờ trình", **fields):
    data = {"name": name, "file": (io.BytesIO(content), filename), **fields}
    return client.post(f"/api/v1/tasks/{task_id}/files", data=data, headers=headers)


def stored_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file()) if folder.exists() else []


# --- the API ------------------------------------------------------------------------------------------


def test_upload_list_and_download_through_the_api(app, client, api_token, files_dir):
    t1a = task("1.a")
    headers = bearer(api_token, "cntt.cv")
    response = api_upload(client, headers, t1a.id, filename="Tờ trình số 5.pdf")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["name"] == "Tờ trình" and body["version"] == 1 and body["filename"] == "Tờ trình số 5.pdf"
    assert body["size"] == len(PDF) and body["content_type"] == "application/pdf"
    assert body["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert (
        body["uploaded_by"]["username"] == "cntt.cv" and response.headers["Location"] == body["download_url"]
    )

    listing = client.get(f"/api/v1/tasks/{t1a.id}/files", headers=bearer(api_token, "hts.cv"))
    assert listing.status_code == 200 and [f["id"] for f in listing.get_json()["files"]] == [body["id"]]
    assert listing.get_json()["can_upload"] is False

    download = client.get(body["download_url"], headers=bearer(api_token, "giamsat"))
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download.headers["Content-Security-Policy"]
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''T%E1%BB%9D%20tr%C3%ACnh" in disposition


def test_every_version_is_kept(app, client, api_token, files_dir):
    t1a, headers = task("1.a"), bearer(api_token, "cntt.cv")
    first = api_upload(client, headers, t1a.id, PDF, "v1.pdf").get_json()
    second = api_upload(client, headers, t1a.id, DOCX, "v2.docx").get_json()
    other = api_upload(client, headers, t1a.id, PNG, "anh.png", name="Minh chứng kết quả").get_json()
    assert (first["version"], second["version"], other["version"]) == (1, 2, 1)
    files = client.get(f"/api/v1/tasks/{t1a.id}/files", headers=headers).get_json()["files"]
    assert [(f["name"], f["version"]) for f in files] == [
        ("Minh chứng kết quả", 1),
        ("Tờ trình", 2),
        ("Tờ trình", 1),
    ]
    assert client.get(first["download_url"], headers=headers).data == PDF
    assert client.get(second["download_url"], headers=headers).data == DOCX
    assert len(stored_files(files_dir)) == 3


# Test ids from the file names: generated zip bytes carry the time, and ids must be the same in every
# pytest-xdist worker.
STABLE_IDS = lambda value: value if isinstance(value, str) else type(value).__name__  # noqa: E731


@pytest.mark.parametrize(
    ("content", "filename", "content_type"),
    [
        (PDF, "a.pdf", "application/pdf"),
        (DOCX, "a.docx", TYPES["docx"][0]),
        (XLSX, "a.xlsx", TYPES["xlsx"][0]),
        (OLE2, "a.doc", "application/msword"),
        (OLE2, "a.xls", "application/vnd.ms-excel"),
        (ODT, "a.odt", TYPES["odt"][0]),
        (ODS, "a.ods", TYPES["ods"][0]),
        (PNG, "a.PNG", "image/png"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 32, "a.jpg", "image/jpeg"),
    ],
    ids=STABLE_IDS,
)
def test_each_accepted_type(app, client, api_token, files_dir, content, filename, content_type):
    response = api_upload(client, bearer(api_token, "cntt.cv"), task("1.a").id, content, filename)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["content_type"] == content_type


@pytest.mark.parametrize(
    ("content", "filename"),
    [
        (b"<html><script>alert(1)</script></html>", "trang.html"),
        (b"<html><script>alert(1)</script></html>", "gia-pdf.pdf"),
        (PDF, "tai-lieu.exe"),
        (PDF, "khong-co-duoi"),
        (b"<svg onload=alert(1)>", "anh.svg"),
        (PNG, "anh.pdf"),
        (zipped(**{"a.txt": "x"}), "khong-phai-word.docx"),
        (DOCX, "word-gia-excel.xlsx"),
        (ODS, "bang-tinh-gia-van-ban.odt"),
        (b"PK\x03\x04 not really a zip", "hong.docx"),
        (b"", "rong.pdf"),
    ],
    ids=STABLE_IDS,
)
def test_a_wrong_type_is_refused_by_its_content_with_422(
    app, client, api_token, files_dir, content, filename
):
    headers = bearer(api_token, "cntt.cv")
    before = dump_tables()
    response = api_upload(client, headers, task("1.a").id, content, filename)
    assert response.status_code == 422 and "file" in response.get_json()["details"]
    assert dump_tables() == before and stored_files(files_dir) == []


def test_missing_fields_are_a_422_and_a_json_body_a_415(app, client, api_token, files_dir):
    t1a, headers = task("1.a"), bearer(api_token, "cntt.cv")
    response = client.post(
        f"/api/v1/tasks/{t1a.id}/files",
        data={"name": "Tờ trình"},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and "file" in response.get_json()["details"]
    assert api_upload(client, headers, t1a.id, name="  ").get_json()["details"] == {
        "name": "required: what the file is, e.g. Tờ trình"
    }
    response = client.post(f"/api/v1/tasks/{t1a.id}/files", json={"name": "x"}, headers=headers)
    assert response.status_code == 415
    assert client.post("/api/v1/tasks/999999/files", data={}, headers=headers).status_code == 404


def test_a_file_may_belong_to_one_of_the_task_s_steps(app, client, api_token, files_dir):
    t1a, t1b = task("1.a"), task("1.b")
    start_process(t1a, user("cntt.cv"))
    start_process(t1b, user("cntt.cv"))
    draft, other = open_item(t1a, "draft").id, open_item(t1b, "draft").id
    headers = bearer(api_token, "cntt.cv")
    body = api_upload(client, headers, t1a.id, name="Dự thảo", work_item=str(draft)).get_json()
    assert body["work_item_id"] == draft and body["step"] == "draft"
    for wrong in (str(other), "abc", "99999999999"):
        response = api_upload(client, headers, t1a.id, name="Dự thảo", work_item=wrong)
        assert response.status_code == 422 and "work_item" in response.get_json()["details"], wrong


# --- size -----------------------------------------------------------------------------------------


def test_a_file_over_the_limit_is_refused_with_413_and_leaves_nothing(app, client, api_token, files_dir):
    app.config["ATTACHMENT_MAX_BYTES"] = 1000
    headers, t1a = bearer(api_token, "cntt.cv"), task("1.a")
    before = dump_tables()
    assert api_upload(client, headers, t1a.id, PDF + b"x" * (1001 - len(PDF))).status_code == 413
    huge = api_upload(client, headers, t1a.id, PDF + b"x" * 2 * 1024 * 1024)  # beyond the body limit too
    assert huge.status_code == 413 and huge.is_json
    assert dump_tables() == before and stored_files(files_dir) == []
    assert api_upload(client, headers, t1a.id, PDF + b"x" * (1000 - len(PDF))).status_code == 201


def test_a_file_larger_than_the_app_s_body_limit_but_within_its_own_is_taken(
    app, client, api_token, files_dir
):
    assert app.config["MAX_CONTENT_LENGTH"] < 3 * 1024 * 1024 < app.config["ATTACHMENT_MAX_BYTES"]
    big = PDF + b"0" * 3 * 1024 * 1024
    response = api_upload(client, bearer(api_token, "cntt.cv"), task("1.a").id, big, "lon.pdf")
    assert response.status_code == 201 and response.get_json()["size"] == len(big)
    other = client.patch(
        f"/api/v1/tasks/{task('1.a').id}",
        data=b"{" + b" " * 3 * 1024 * 1024 + b"}",
        headers={**bearer(api_token, "cntt.tp"), "Content-Type": "application/json"},
    )
    assert other.status_code == 413, "other routes keep the app's limit"


# --- where the bytes go ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sent",
    ["../../../../etc/passwd.pdf", "..\\..\\windows\\system32\\evil.pdf", "/tmp/tuyet-doi.pdf", "..pdf.pdf"],
)
def test_a_file_name_cannot_escape_the_storage_folder(app, client, api_token, files_dir, sent):
    response = api_upload(client, bearer(api_token, "cntt.cv"), task("1.a").id, PDF, sent)
    assert response.status_code == 201, response.get_json()
    kept = response.get_json()["filename"]
    assert "/" not in kept and "\\" not in kept and not kept.startswith(".") and kept.endswith(".pdf")
    attachment = db.session.get(Attachment, response.get_json()["id"])
    assert attachment.stored_path == f"{attachment.sha256[:2]}/{attachment.sha256}"
    [path] = stored_files(files_dir)
    assert path == files_dir.resolve() / attachment.stored_path
    assert not any(p.name.endswith(".part") for p in files_dir.rglob("*"))


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\windows\\system32\\evil.pdf", "evil.pdf"),
        ("C:\\Users\\a\\Tờ trình.docx", "Tờ trình.docx"),
        ("a\x00b\r\n\u202egnp.pdf", "abgnp.pdf"),
        ("  ..hidden.pdf  ", "hidden.pdf"),
        ("..", ""),
        ("Báo cáo.PDF", "Báo cáo.PDF"),
        ("Bao ca\u0301o.pdf", "Bao cáo.pdf"),
        ("x" * 500 + ".docx", "x" * 195 + ".docx"),
    ],
)
def test_file_names_are_cleaned(sent, kept):
    assert clean_filename(sent) == kept
    assert len(clean_filename(sent)) <= 200


def test_a_tampered_stored_path_is_never_followed(app, client, api_token, files_dir, tmp_path):
    secret = tmp_path / "secret.pdf"
    secret.write_bytes(PDF)
    body = api_upload(client, bearer(api_token, "cntt.cv"), task("1.a").id).get_json()
    attachment = db.session.get(Attachment, body["id"])
    for tampered in ("../secret.pdf", f"{attachment.sha256[:2]}/../../secret.pdf", str(secret)):
        attachment.stored_path = tampered
        with pytest.raises(NotFound):
            file_path(attachment)
    db.session.commit()
    assert client.get(body["download_url"], headers=bearer(api_token, "cntt.cv")).status_code == 404


def test_a_failed_commit_leaves_no_file_and_no_row(app, files_dir, monkeypatch):
    t1a, cv = task("1.a"), user("cntt.cv")

    def failing_commit():
        raise RuntimeError("the database went away")

    monkeypatch.setattr(db.session, "commit", failing_commit)
    with pytest.raises(RuntimeError):
        store(t1a, cv, Upload(io.BytesIO(PDF), "a.pdf", "Tờ trình"))
    monkeypatch.undo()
    assert db.session.scalars(select(Attachment)).all() == []
    assert stored_files(files_dir) == []


def test_the_same_content_twice_is_stored_once_and_kept_when_one_commit_fails(app, files_dir, monkeypatch):
    t1a, cv = task("1.a"), user("cntt.cv")
    store(t1a, cv, Upload(io.BytesIO(PDF), "a.pdf", "Tờ trình"))
    monkeypatch.setattr(db.session, "commit", lambda: (_ for _ in ()).throw(RuntimeError("gone")))
    with pytest.raises(RuntimeError):
        store(t1a, cv, Upload(io.BytesIO(PDF), "b.pdf", "Dự thảo"))
    monkeypatch.undo()
    [path] = stored_files(files_dir)
    assert path.read_bytes() == PDF, "the first version's bytes are still there"


# --- who -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("username", "status"), [("hts.cv", 403), ("giamsat", 403), ("cntt.tp", 201)])
def test_only_those_who_may_edit_files_upload(app, client, api_token, files_dir, username, status):
    headers = bearer(api_token, username)
    before = dump_tables()
    response = api_upload(client, headers, task("1.a").id)
    assert response.status_code == status
    if status == 403:
        assert dump_tables() == before and stored_files(files_dir) == []


def test_a_closed_task_takes_files_from_an_admin_only_and_says_so_in_the_audit(
    app, client, api_token, files_dir
):
    t1a = task("1.a")
    t1a.state = TaskState.COMPLETED
    db.session.commit()
    assert api_upload(client, bearer(api_token, "cntt.cv"), t1a.id).status_code == 403
    response = api_upload(client, bearer(api_token, "admin"), t1a.id, name="Văn bản ban hành")
    assert response.status_code == 201
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "task.file_added")).one()
    assert event.actor_username == "admin" and event.task_id == t1a.id
    assert event.data["state"] == "completed" and event.data["override"] is True
    assert event.data["attachment_id"] == response.get_json()["id"] and event.data["version"] == 1


def test_an_ordinary_upload_is_audited_without_override(app, client, api_token, files_dir):
    api_upload(client, bearer(api_token, "cntt.cv"), task("1.a").id)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "task.file_added")).one()
    assert event.actor_username == "cntt.cv" and event.data["state"] == "not_started"
    assert "override" not in event.data and event.data["name"] == "Tờ trình"


def test_only_those_who_may_view_the_task_list_and_download(app, client, api_token, files_dir):
    t1a = task("1.a")
    body = api_upload(client, bearer(api_token, "cntt.cv"), t1a.id).get_json()
    permissions = json.loads((SHIPPED_BPMN_DIR / "permissions" / "draft_plan.json").read_text("utf-8"))
    permissions["default"]["view"] = ["lead_unit:specialist", "lead_unit:unit_head", "leader", "supervisor"]
    xml = (SHIPPED_BPMN_DIR / "draft_plan.bpmn").read_text(encoding="utf-8")
    deploy(xml, load_forms(SHIPPED_BPMN_DIR / "forms" / "draft_plan"), "draft_plan.bpmn", None, permissions)
    db.session.commit()
    for username, status in (("hts.cv", 403), ("giamsat", 200), ("cntt.tp", 200), ("admin", 200)):
        headers = bearer(api_token, username)
        assert client.get(body["download_url"], headers=headers).status_code == status, username
        assert client.get(f"/api/v1/tasks/{t1a.id}/files", headers=headers).status_code == status, username
    assert client.get(body["download_url"]).status_code == 401
    assert client.get("/api/v1/files/999999", headers=bearer(api_token, "cntt.cv")).status_code == 404


# --- the web --------------------------------------------------------------------------------------


def web_upload(client, task_id, content=PDF, filename="to-trinh.pdf", name="Tờ trình", token=None, **fields):
    if token is None:
        token = csrf_token_from(client.get(f"/tasks/{task_id}/files").get_data(as_text=True))
    data = {"csrf_token": token, "name": name, "file": (io.BytesIO(content), filename), **fields}
    return client.post(f"/tasks/{task_id}/files", data=data, content_type="multipart/form-data")


def test_the_web_upload_with_csrf_lists_and_downloads(app, client, auth, files_dir):
    t1a = task("1.a")
    auth.login("cntt.cv")
    response = web_upload(client, t1a.id)
    assert response.status_code == 302 and response.location.endswith(f"/tasks/{t1a.id}/files")
    page = client.get(f"/tasks/{t1a.id}/files").get_data(as_text=True)
    assert 'id="task-files-list"' in page and "Tờ trình" in page and "to-trinh.pdf" in page
    assert 'id="task-files-upload"' in page
    attachment = db.session.scalars(select(Attachment)).one()
    download = client.get(f"/files/{attachment.id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    again = web_upload(client, t1a.id, DOCX, "ban-moi.docx", back="task")
    assert again.location.endswith(f"/tasks/{t1a.id}#task-files")
    assert [a.version for a in db.session.scalars(select(Attachment).order_by(Attachment.id))] == [1, 2]


def test_a_web_upload_without_csrf_is_refused_and_stores_nothing(app, client, auth, files_dir):
    auth.login("cntt.cv")
    before = dump_tables()
    assert web_upload(client, task("1.a").id, token="not-a-token").status_code == 400
    assert dump_tables() == before and stored_files(files_dir) == []


def test_the_web_refuses_wrong_type_too_large_and_strangers(app, client, auth, files_dir):
    t1a = task("1.a")
    auth.login("cntt.cv")
    refused = web_upload(client, t1a.id, b"MZ\x90\x00", "virus.pdf")
    assert refused.status_code == 422 and 'id="upload-refused"' in refused.get_data(as_text=True)
    app.config["ATTACHMENT_MAX_BYTES"] = 100
    assert web_upload(client, t1a.id, PDF * 10).status_code == 413
    beyond_the_body_limit = web_upload(client, t1a.id, PDF + b"x" * 2 * 1024 * 1024)
    assert beyond_the_body_limit.status_code == 413 and "<html" in beyond_the_body_limit.get_data(
        as_text=True
    )
    auth.logout()
    auth.login("hts.cv")
    page = client.get(f"/tasks/{t1a.id}/files").get_data(as_text=True)
    assert 'id="task-files-readonly"' in page and 'id="task-files-upload"' not in page
    assert web_upload(client, t1a.id).status_code == 403
    assert stored_files(files_dir) == []


def test_the_partial_warns_an_admin_who_adds_a_file_to_a_closed_task(app, client, auth, files_dir):
    t1a = task("1.a")
    t1a.state = TaskState.COMPLETED
    db.session.commit()
    auth.login("admin")
    page = client.get(f"/tasks/{t1a.id}/files").get_data(as_text=True)
    assert 'id="task-files-upload"' in page and "alert-warning" in page
    assert web_upload(client, t1a.id).status_code == 302


def test_files_live_under_the_configured_folder(app, files_dir):
    assert storage_root() == files_dir.resolve()
    with pytest.raises(InvalidData):
        store(task("1.a"), user("cntt.cv"), Upload(io.BytesIO(PDF), None, "Tờ trình"))


def test_sizes_read_in_the_interface_s_number_format(app):
    from app.attachments import file_size

    with app.test_request_context():
        assert [file_size(n) for n in (950, 12800, 20 * 1024 * 1024)] == ["950 B", "12,5 KB", "20 MB"]


def test_the_web_form_offers_the_task_s_open_steps(app, client, auth, files_dir):
    t1a = task("1.a")
    start_process(t1a, user("cntt.cv"))
    draft = open_item(t1a, "draft")
    auth.login("cntt.cv")
    page = client.get(f"/tasks/{t1a.id}/files").get_data(as_text=True)
    assert f'<option value="{draft.id}">{draft.name}</option>' in page
    assert web_upload(client, t1a.id, name="Dự thảo", work_item=str(draft.id)).status_code == 302
    assert db.session.scalars(select(Attachment)).one().work_item_id == draft.id
    assert f"{draft.name}</div>" in client.get(f"/tasks/{t1a.id}/files").get_data(as_text=True)
