"""Task files: storing, listing and opening them, with the permission checks and the audit trail.

- Where: content-addressed under ATTACHMENTS_DIR as `<first two hex digits>/<sha256>`. Nothing the user
  sends (file name, logical name) is ever part of a path; the original name is kept, cleaned, as data.
- What: at most ATTACHMENT_MAX_BYTES (413 beyond), one of TYPES by extension AND content (magic bytes;
  Office Open XML and OpenDocument files are ZIPs checked for their main part), else 422.
- Versions: a new upload under the same logical name on the same task is the next version; all are kept.
- Nothing half-written: the bytes go to a temporary file first; the row is flushed, then the file is
  moved into place and the transaction committed. A failed commit removes the file it placed.
- Who: `may_edit_files` uploads, `may_view_task` lists and downloads (workflows/permissions.py).
  An upload is audited `task.file_added`, its data saying the task's state (and `override` when an
  admin adds a file where the state's permission map would not let anyone else).
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Attachment, Task, User, WorkItem
from app.services.clock import utcnow
from workflows import audit
from workflows.errors import Conflict, InvalidData, NotAllowed, NotFound, WorkflowError
from workflows.guards import may_see
from workflows.permissions import EDIT_FILES, audit_data, is_override, may_edit_files, may_view_task
from workflows.worklist import open_items_of

CHUNK = 64 * 1024
MAX_NAME = 200
MAX_FILENAME = 200
STORED_PATH = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{64}$")
SUGGESTED_NAMES = ("Dự thảo", "Ý kiến góp ý", "Tờ trình", "Văn bản ban hành", "Minh chứng kết quả", "Báo cáo")

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP = b"PK\x03\x04"
# extension -> (Content-Type served, what the first bytes must be, what a ZIP must contain)
TYPES: dict[str, tuple[str, bytes, str | None]] = {
    "pdf": ("application/pdf", b"%PDF-", None),
    "docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ZIP,
        "word/document.xml",
    ),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ZIP, "xl/workbook.xml"),
    "doc": ("application/msword", OLE2, None),
    "xls": ("application/vnd.ms-excel", OLE2, None),
    "odt": ("application/vnd.oasis.opendocument.text", ZIP, "mimetype"),
    "ods": ("application/vnd.oasis.opendocument.spreadsheet", ZIP, "mimetype"),
    "png": ("image/png", b"\x89PNG\r\n\x1a\n", None),
    "jpg": ("image/jpeg", b"\xff\xd8\xff", None),
    "jpeg": ("image/jpeg", b"\xff\xd8\xff", None),
}
ACCEPTED_EXTENSIONS = ("pdf", "docx", "xlsx", "doc", "xls", "odt", "ods", "png", "jpg")


class TooLarge(WorkflowError):
    status = 413


@dataclass(frozen=True)
class Upload:
    """What was sent: the bytes, the name the browser gave them, and the logical name chosen."""

    stream: BinaryIO | None
    filename: str | None
    name: str | None
    work_item: str | None = None  # the id of one of the task's steps, as sent; blank for none


# --- configuration --------------------------------------------------------------------------------


def storage_root() -> Path:
    folder = Path(current_app.config["ATTACHMENTS_DIR"])
    if not folder.is_absolute():
        folder = Path(current_app.root_path).parent / folder
    return folder.resolve()


def max_bytes() -> int:
    return int(current_app.config["ATTACHMENT_MAX_BYTES"])


def upload_body_limit() -> int:
    """The request body an upload may have: the file, its form fields and the multipart framing."""
    return max_bytes() + 1024 * 1024


# --- names ------------------------------------------------------------------------------------------


def clean_filename(raw: str | None) -> str:
    """The last component of the name the browser sent, without control characters, at most 200 long."""
    name = unicodedata.normalize("NFC", raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = " ".join(name.split()).strip(" .")
    if len(name) > MAX_FILENAME:
        stem, dot, extension = name.rpartition(".")
        keep = extension[:10] if dot else ""
        base = (stem if dot else name)[: MAX_FILENAME - len(keep) - 1].rstrip(" .")
        name = f"{base}.{keep}" if keep else base
    return name


def clean_name(raw: str | None) -> str:
    name = unicodedata.normalize("NFC", raw or "")
    return " ".join("".join(ch for ch in name if unicodedata.category(ch)[0] != "C").split())


def extension_of(filename: str) -> str:
    _, dot, extension = filename.rpartition(".")
    return extension.lower() if dot else ""


# --- storing ----------------------------------------------------------------------------------------


def store(task: Task, user: User, upload: Upload) -> Attachment:
    """Keep an uploaded file as the next version of its logical name on the task; commit or change nothing."""
    if not may_edit_files(user, task):
        raise NotAllowed("you may not add files to this task in its current state")
    name, filename, item = _checked_fields(task, upload)
    root = storage_root()
    temp, sha256, size = _receive(upload.stream, root)  # the fields were checked: there is a file
    try:
        content_type = _checked_type(temp, filename)
        return _commit(task, user, item, name, filename, temp, sha256, size, content_type)
    finally:
        temp.unlink(missing_ok=True)


def _checked_fields(task: Task, upload: Upload) -> tuple[str, str, WorkItem | None]:
    errors = {}
    name = clean_name(upload.name)
    if not name:
        errors["name"] = "required: what the file is, e.g. Tờ trình"
    elif len(name) > MAX_NAME:
        errors["name"] = f"at most {MAX_NAME} characters"
    filename = clean_filename(upload.filename)
    if not filename:
        errors["file"] = "required: choose a file"
    elif extension_of(filename) not in TYPES:
        errors["file"] = "allowed types: " + ", ".join(ACCEPTED_EXTENSIONS)
    item = None
    item_id = parse_item_id(upload.work_item)
    if item_id is not None:
        item = db.session.get(WorkItem, item_id)
    if item_id is not None and (item is None or item.task_id != task.id):
        errors["work_item"] = "not a step of this task"
    if errors:
        raise InvalidData("the file was not accepted", errors)
    return name, filename, item


def _receive(stream: BinaryIO, root: Path) -> tuple[Path, str, int]:
    """Copy the upload to a temporary file under the storage folder, hashing it and refusing it once it
    is too large: the temporary file, its SHA-256 and its size."""
    folder = root / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / f"{uuid.uuid4().hex}.part"
    limit, written, digest = max_bytes(), 0, hashlib.sha256()
    try:
        with temp.open("xb") as out:
            while chunk := stream.read(CHUNK):
                written += len(chunk)
                digest.update(chunk)
                if written > limit:
                    detail = {"file": f"at most {limit} bytes"}
                    raise TooLarge(f"the file is larger than {limit} bytes", detail)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    if written == 0:
        temp.unlink(missing_ok=True)
        raise InvalidData("the file was not accepted", {"file": "the file is empty"})
    return temp, digest.hexdigest(), written


def _checked_type(path: Path, filename: str) -> str:
    """The Content-Type to serve, when the content is what the extension says; else a 422."""
    content_type, magic, member = TYPES[extension_of(filename)]
    with path.open("rb") as source:
        head = source.read(len(magic))
    if head != magic or (member and not _zip_has(path, member, content_type)):
        raise InvalidData(
            "the file was not accepted", {"file": f"the content is not a .{extension_of(filename)} file"}
        )
    return content_type


def _zip_has(path: Path, member: str, content_type: str) -> bool:
    """An Office Open XML file has its main part; an OpenDocument file names its own type first."""
    try:
        with zipfile.ZipFile(path) as archive:
            if member != "mimetype":
                return member in archive.namelist()
            info = archive.getinfo(member)
            if info.file_size > 200:
                return False
            return archive.read(info).decode("ascii", "replace").strip() == content_type
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, NotImplementedError, EOFError):
        return False


def next_version(task: Task, name: str) -> int:
    query = select(func.max(Attachment.version)).where(Attachment.task_id == task.id, Attachment.name == name)
    return (db.session.scalar(query) or 0) + 1


def _commit(task, user, item, name, filename, temp, sha256, size, content_type) -> Attachment:
    stored_path = f"{sha256[:2]}/{sha256}"
    final = storage_root() / stored_path
    placed = False
    try:
        row = Attachment(
            task_id=task.id,
            work_item_id=item.id if item else None,
            name=name,
            filename=filename,
            stored_path=stored_path,
            sha256=sha256,
            size=size,
            content_type=content_type,
            version=next_version(task, name),
            uploaded_by_id=user.id,
            uploaded_at=utcnow(),
        )
        db.session.add(row)
        db.session.flush()
        data = {"attachment_id": row.id, "name": name, "filename": filename, "version": row.version}
        data |= {"size": size, "sha256": sha256} | audit_data(user, task, EDIT_FILES)
        audit.record(audit.Action.FILE_ADDED, user, task, item=item, data=data)
        db.session.flush()
        if not final.is_file():
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temp, final)
            placed = True
        db.session.commit()
        return row
    except Exception as error:
        db.session.rollback()
        if placed and not _referenced(sha256):
            final.unlink(missing_ok=True)
        if isinstance(error, IntegrityError):
            raise Conflict("another version of this file was added at the same time: try again") from None
        raise


def _referenced(sha256: str) -> bool:
    return db.session.scalar(select(Attachment.id).where(Attachment.sha256 == sha256).limit(1)) is not None


# --- reading ----------------------------------------------------------------------------------------


def attachments_of(task: Task) -> list[Attachment]:
    """Every version of every file of the task: by logical name, newest version first."""
    query = (
        select(Attachment)
        .where(Attachment.task_id == task.id)
        .order_by(Attachment.name, Attachment.version.desc())
    )
    return list(db.session.scalars(query))


def attachment_for(attachment_id: int, user: User) -> Attachment:
    """The attachment, if it exists and the user may view its task (else NotFound / NotAllowed)."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound(f"no file with id {attachment_id}")
    if not may_view_task(user, attachment.task):
        raise NotAllowed("you may not see this task's files")
    return attachment


def file_path(attachment: Attachment) -> Path:
    """Where the bytes are: always inside the storage folder, or NotFound."""
    root = storage_root()
    if not STORED_PATH.match(attachment.stored_path or ""):
        raise NotFound("the stored file is missing")
    path = (root / attachment.stored_path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise NotFound("the stored file is missing")
    return path


def parse_item_id(text: str | None) -> int | None:
    """The optional step id of an upload: blank is none; not a number is 0 (no such step)."""
    text = (text or "").strip()
    if not text:
        return None
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else 0


@dataclass(frozen=True)
class FilesPanel:
    """What the task page's files section shows to one user."""

    task: Task
    attachments: list[Attachment]
    can_view: bool
    can_upload: bool
    override: bool  # an admin adding a file the state's map would not allow: audited as such
    open_steps: list[WorkItem]
    max_bytes: int
    accept: str
    suggested_names: tuple[str, ...]


def files_panel(task: Task, user: User) -> FilesPanel:
    can_view = may_view_task(user, task)
    can_upload = may_edit_files(user, task)
    return FilesPanel(
        task=task,
        attachments=attachments_of(task) if can_view else [],
        can_view=can_view,
        can_upload=can_upload,
        override=can_upload and is_override(user, task, EDIT_FILES),
        open_steps=[item for item in open_items_of(task) if may_see(user, item)] if can_upload else [],
        max_bytes=max_bytes(),
        accept=",".join(f".{extension}" for extension in ACCEPTED_EXTENSIONS),
        suggested_names=SUGGESTED_NAMES,
    )
