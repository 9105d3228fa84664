"""The default texts of the monthly reporting documents, written from their facts
(app.services.report_content.Facts) the way a Vietnamese administrative report is written (Nghị định
30/2020/NĐ-CP): the issuing body under its cơ quan chủ quản, số/ký hiệu, place and date, trích yếu, the
body in numbered parts, the signer and nơi nhận. People may change every one of these before approval.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from app.extensions import db
from app.models import Role, TaskState, Unit, UnitKind, User, UserRole
from app.models.reports import ReportKind
from app.services.report_content import Facts, Section, TaskLine, date_words, month_text, short_date
from app.services.reporting import receiving_unit

HEAD_TITLES = {
    UnitKind.OFFICE: "Chánh Văn phòng",
    UnitKind.DIVISION: "Trưởng phòng",
    UnitKind.CENTRE: "Giám đốc",
    UnitKind.SUB_UNIT: "Phụ trách bộ phận",
}
NONE_TEXT = "Không có."


@dataclass
class Fields:
    """What people may edit in a document."""

    parent_body: str
    issuing_body: str
    number_symbol: str
    place: str
    doc_date: date
    summary: str
    sections: list[Section]
    signer_title: str
    signer_name: str
    recipients: list[str]
    secretary_title: str = ""
    secretary_name: str = ""


def defaults(facts: Facts) -> Fields:
    if facts.kind == ReportKind.UNIT:
        return _unit_fields(facts)
    if facts.kind == ReportKind.MINUTES:
        return _minutes_fields(facts)
    return _consolidated_fields(facts)


# --- who issues -------------------------------------------------------------------------------------


def province_of(department: Unit | None) -> str:
    """ "Sở Khoa học và Công nghệ tỉnh Hải Dương" -> "Hải Dương"."""
    name = department.name if department is not None else ""
    match = re.search(r"\b(?:tỉnh|thành phố)\s+(.+)$", name)
    return match.group(1).strip() if match else ""


def _department_name(facts: Facts) -> str:
    department = facts.department
    if department is None:
        return facts.plan.issuer_name
    return department.short_name or department.name


def _department_symbol(facts: Facts) -> str:
    """The issuing body's abbreviation in ký hiệu: the plan's own ("/KH-SKHCN" -> "SKHCN")."""
    symbol = (facts.plan.number_symbol or "").rsplit("-", 1)
    if len(symbol) == 2 and symbol[1].strip():
        return symbol[1].strip()
    return facts.department.code if facts.department is not None else "SKHCN"


def _plan_reference(facts: Facts) -> str:
    plan = facts.plan
    issued = f" ngày {short_date(plan.issued_on)}" if plan.issued_on else ""
    return f"{plan.doc_type} số {plan.document_number}{issued} của {_department_name(facts)}"


def _unit_head(unit: Unit) -> User | None:
    query = (
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.unit_id == unit.id, User.active.is_(True), UserRole.role == Role.UNIT_HEAD)
        .order_by(User.id)
    )
    return db.session.scalar(query)


def _leader_signer(facts: Facts) -> tuple[str, str]:
    signer = facts.plan.signer or {}
    title = signer.get("title") if isinstance(signer, dict) else None
    name = signer.get("name") if isinstance(signer, dict) else None
    if not name:
        leader = db.session.scalar(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(User.active.is_(True), UserRole.role == Role.LEADER)
            .order_by(User.id)
        )
        name = leader.full_name if leader is not None else ""
    return title or "Giám đốc", name or ""


def _receiver(facts: Facts) -> Unit:
    return receiving_unit(facts.plan) or facts.unit


# --- common sentences -------------------------------------------------------------------------------


def lower_first(text: str) -> str:
    """ "Chờ hướng dẫn của Trung ương" -> "chờ hướng dẫn của Trung ương" (proper names keep their case)."""
    return text[:1].lower() + text[1:]


def counts_sentence(lines: list[TaskLine]) -> str:
    order = {state: number for number, state in enumerate(TaskState.ALL)}
    by_state: dict[tuple[int, str], int] = {}
    for line in lines:
        key = (order.get(line.state, len(order)), line.state_label)
        by_state[key] = by_state.get(key, 0) + 1
    parts = "; ".join(f"{lower_first(label)}: {count}" for (_o, label), count in sorted(by_state.items()))
    overdue = sum(1 for line in lines if line.overdue)
    text = f"Tổng số nhiệm vụ: {len(lines)}"
    if parts:
        text += f"; trong đó {parts}"
    return f"{text}. Số nhiệm vụ chậm tiến độ: {overdue}."


def _overdue_text(facts: Facts, explanations: list[str]) -> str:
    lines = [
        f"- Nhiệm vụ {line.code}: {line.title} (thời hạn: {line.deadline or 'chưa xác định'}; "
        f"{lower_first(line.state_label)})."
        for line in facts.overdue
    ] or ["Không có nhiệm vụ chậm tiến độ so với thời hạn của Kế hoạch."]
    explained = [text.strip() for text in explanations if text and text.strip()]
    if explained:
        lines.append("Giải trình, nguyên nhân và giải pháp khắc phục:")
        lines += explained
    return "\n".join(lines)


def _difficulties(facts: Facts) -> list[str]:
    return [f"- Nhiệm vụ {line.code}: {line.difficulties}" for line in facts.tasks if line.difficulties]


def _indicators_intro(facts: Facts) -> str:
    if not facts.indicators:
        return "Không có chỉ tiêu được giao theo dõi."
    with_value = sum(1 for line in facts.indicators if line.value)
    return (
        f"Số chỉ tiêu theo dõi: {len(facts.indicators)}; đã cập nhật số liệu: {with_value}. "
        f"Kết quả đến hết tháng {month_text(facts.period)} như sau:"
    )


# --- the unit's monthly report ----------------------------------------------------------------------


def _unit_fields(facts: Facts) -> Fields:
    unit, month = facts.unit, month_text(facts.period)
    entered = facts.steps.get("unit_report", {})
    head = _unit_head(unit)
    receiver = _receiver(facts)
    results = [counts_sentence(facts.tasks)]
    if entered.get("summary"):
        results.append(entered["summary"])
    proposals = entered.get("proposals") or ""
    sections = [
        Section(
            "intro",
            "",
            f"Thực hiện {_plan_reference(facts)}, {unit.name} báo cáo kết quả thực hiện các nhiệm vụ "
            f"được giao trong tháng {month} như sau:",
        ),
        Section("results", "I. KẾT QUẢ THỰC HIỆN NHIỆM VỤ", "\n".join(results), table="tasks"),
        Section(
            "overdue",
            "II. CÁC NHIỆM VỤ CHẬM TIẾN ĐỘ",
            _overdue_text(facts, [entered.get("overdue_explanations") or ""]),
        ),
        Section("indicators", "III. KẾT QUẢ THỰC HIỆN CÁC CHỈ TIÊU", _indicators_intro(facts), "indicators"),
        Section("difficulties", "IV. KHÓ KHĂN, VƯỚNG MẮC", "\n".join(_difficulties(facts)) or NONE_TEXT),
        Section("proposals", "V. ĐỀ XUẤT, KIẾN NGHỊ", proposals.strip() or NONE_TEXT),
        Section(
            "closing", "", f"Trên đây là báo cáo kết quả thực hiện nhiệm vụ tháng {month} của {unit.name}./."
        ),
    ]
    parent = facts.department
    return Fields(
        parent_body=(parent.short_name or parent.name) if parent is not None else facts.plan.issuer_name,
        issuing_body=unit.name,
        number_symbol=f"/BC-{unit.code}",
        place=province_of(facts.department),
        doc_date=facts.today,
        summary=f"Kết quả thực hiện nhiệm vụ tháng {month} theo {_plan_reference(facts)}",
        sections=sections,
        signer_title=HEAD_TITLES.get(unit.kind, "Thủ trưởng đơn vị"),
        signer_name=head.full_name if head is not None else "",
        recipients=[f"{receiver.name} (tổng hợp)", "Lãnh đạo Sở (b/c)", f"Lưu: {unit.code}"],
    )


# --- the consolidated report to UBND tỉnh -----------------------------------------------------------


def _units_text(facts: Facts) -> str:
    lines = []
    for sent in facts.submissions:
        summary = (sent.data.get("summary") or "").strip()
        if sent.sent_on is None:
            lines.append(f"- {sent.unit_name}: chưa gửi báo cáo.")
        else:
            lines.append(f"- {sent.unit_name} (gửi ngày {sent.sent_on.strftime('%d/%m/%Y')}): {summary}")
    return "\n".join(lines) or NONE_TEXT


def _consolidated_fields(facts: Facts) -> Fields:
    month, department = month_text(facts.period), _department_name(facts)
    sent = sum(1 for s in facts.submissions if s.sent_on is not None)
    overview = []
    if facts.steps.get("consolidate_reports", {}).get("report"):
        overview.append(facts.steps["consolidate_reports"]["report"])
    overview.append(counts_sentence(facts.tasks))
    overview.append(f"Số phòng, đơn vị đã gửi báo cáo tháng: {sent}/{len(facts.submissions)}.")
    explanations = [
        f"- {s.unit_name}: {s.data['overdue_explanations']}"
        for s in facts.submissions
        if s.sent_on is not None and (s.data.get("overdue_explanations") or "").strip()
    ]
    proposals = [
        f"- {s.unit_name}: {s.data['proposals']}"
        for s in facts.submissions
        if s.sent_on is not None and (s.data.get("proposals") or "").strip()
    ]
    sections = [
        Section(
            "intro",
            "",
            f"Thực hiện {_plan_reference(facts)}, {department} báo cáo UBND tỉnh kết quả thực hiện "
            f"tháng {month} như sau:",
        ),
        Section("overview", "I. KẾT QUẢ THỰC HIỆN CÁC NHIỆM VỤ", "\n".join(overview), table="tasks"),
        Section("units", "II. KẾT QUẢ CỦA CÁC PHÒNG, ĐƠN VỊ", _units_text(facts)),
        Section("overdue", "III. CÁC NHIỆM VỤ CHẬM TIẾN ĐỘ", _overdue_text(facts, explanations)),
        Section("indicators", "IV. KẾT QUẢ THỰC HIỆN CÁC CHỈ TIÊU", _indicators_intro(facts), "indicators"),
        Section(
            "proposals",
            "V. KHÓ KHĂN, VƯỚNG MẮC VÀ ĐỀ XUẤT, KIẾN NGHỊ",
            "\n".join(_difficulties(facts) + proposals) or NONE_TEXT,
        ),
        Section("closing", "", f"{department} kính báo cáo UBND tỉnh./."),
    ]
    title, name = _leader_signer(facts)
    province = province_of(facts.department)
    return Fields(
        parent_body=f"Ủy ban nhân dân tỉnh {province}" if province else "Ủy ban nhân dân tỉnh",
        issuing_body=department,
        number_symbol=f"/BC-{_department_symbol(facts)}",
        place=province,
        doc_date=facts.today,
        summary=f"Kết quả thực hiện {_plan_reference(facts)} tháng {month}",
        sections=sections,
        signer_title=title,
        signer_name=name,
        recipients=[
            "UBND tỉnh (b/c)",
            "Lãnh đạo Sở",
            "Các phòng, đơn vị thuộc Sở",
            f"Lưu: VT, {_receiver(facts).code}",
        ],
    )


# --- the minutes of the review meeting --------------------------------------------------------------


def meeting_day(facts: Facts) -> date:
    entered = facts.steps.get("record_meeting", {}).get("meeting_date")
    try:
        return date.fromisoformat(entered) if isinstance(entered, str) else _twentieth(facts.period)
    except ValueError:
        return _twentieth(facts.period)


def _twentieth(period: str) -> date:
    year, _sep, month = period.partition("-")
    return date(int(year), int(month), 20)


def _minutes_fields(facts: Facts) -> Fields:
    month, department = month_text(facts.period), _department_name(facts)
    entered = facts.steps.get("record_meeting", {})
    day = meeting_day(facts)
    secretary = facts.step_actors.get("record_meeting") or facts.step_actors.get("consolidate_reports", "")
    chair_title, chair_name = _leader_signer(facts)
    receiver = _receiver(facts)
    content = [
        f"{receiver.name} báo cáo kết quả thực hiện Kế hoạch tháng {month}: {counts_sentence(facts.tasks)}"
    ]
    if entered.get("minutes"):
        content.append(entered["minutes"])
    sections = [
        Section(
            "time_place",
            "",
            f"Thời gian: 08 giờ 00 phút, {date_words(day)}.\nĐịa điểm: Phòng họp {department}.",
        ),
        Section(
            "attendees",
            "I. THÀNH PHẦN THAM DỰ",
            f"Chủ trì: {chair_name}, {chair_title} {department}.\n"
            f"Thư ký: {secretary}, {receiver.name}.\n"
            "Thành phần: Lãnh đạo Sở; lãnh đạo các phòng, đơn vị thuộc Sở.",
        ),
        Section("content", "II. NỘI DUNG CUỘC HỌP", "\n".join(content), table="overdue"),
        Section(
            "conclusions", "III. KẾT LUẬN, CHỈ ĐẠO", (entered.get("decisions") or "").strip() or NONE_TEXT
        ),
        Section(
            "closing",
            "",
            "Cuộc họp kết thúc vào hồi 11 giờ 00 phút cùng ngày. Biên bản đã được thông qua trước các "
            "thành viên dự họp./.",
        ),
    ]
    province = province_of(facts.department)
    return Fields(
        parent_body=f"Ủy ban nhân dân tỉnh {province}" if province else "Ủy ban nhân dân tỉnh",
        issuing_body=department,
        number_symbol=f"/BB-{_department_symbol(facts)}",
        place=province,
        doc_date=day,
        summary=f"Họp giao ban đánh giá kết quả thực hiện Kế hoạch tháng {month}",
        sections=sections,
        signer_title="Chủ trì",
        signer_name=chair_name,
        secretary_title="Thư ký",
        secretary_name=secretary,
        recipients=["Lãnh đạo Sở", "Các phòng, đơn vị thuộc Sở", f"Lưu: VT, {receiver.code}"],
    )
