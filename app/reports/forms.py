"""The edit form of a monthly reporting document: its header fields, one text area per body section,
the signer(s) and nơi nhận. The limits are app.services.report_documents' (the service checks again)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.models.reports import ReportKind
from app.services.report_documents import (
    LIMITS,
    MAX_RECIPIENTS,
    RECIPIENT_LIMIT,
    SECTION_LIMIT,
    ReportView,
)
from app.services.report_texts import Fields

TOO_LONG = _l("At most %(max)d characters.")
SECTION_LABELS = {
    "intro": _l("Opening paragraph"),
    "closing": _l("Closing paragraph"),
    "time_place": _l("Time and place"),
}


def _text(label, name: str, required: bool = False, area: bool = False):
    first = DataRequired(message=_l("This field is required.")) if required else Optional()
    field = TextAreaField if area else StringField
    return field(label, validators=[first, Length(max=LIMITS.get(name, 1000), message=TOO_LONG)])


class ReportForm(FlaskForm):
    revision = HiddenField()
    parent_body = _text(_l("Governing body"), "parent_body")
    issuing_body = _text(_l("Issuing body"), "issuing_body", required=True)
    number_symbol = _text(_l("Number and symbol"), "number_symbol")
    place = _text(_l("Place"), "place")
    doc_date = DateField(
        _l("Date of the document"),
        validators=[DataRequired(message=_l("Enter a valid date."))],
        format="%Y-%m-%d",
        render_kw={"type": "date"},
    )
    summary = _text(_l("Summary (trích yếu)"), "summary", required=True, area=True)
    signer_title = _text(_l("Signer's title"), "signer_title", required=True)
    signer_name = _text(_l("Signer's name"), "signer_name")
    secretary_title = _text(_l("Secretary's title"), "secretary_title")
    secretary_name = _text(_l("Secretary's name"), "secretary_name")
    recipients = TextAreaField(
        _l("Recipients (nơi nhận), one per line"),
        validators=[Optional(), Length(max=MAX_RECIPIENTS * (RECIPIENT_LIMIT + 2), message=TOO_LONG)],
    )

    section_keys: list[tuple[str, str | None]] = []

    @classmethod
    def for_view(cls, view: ReportView, formdata=None) -> ReportForm:
        """The form with a text area per section of `view`; filled from the document unless `formdata`."""
        fields = {}
        keys = []
        for section in view.fields.sections:
            label = section.heading or SECTION_LABELS.get(section.key, section.key)
            fields[f"section_{section.key}"] = TextAreaField(
                label, validators=[Length(max=SECTION_LIMIT, message=TOO_LONG)]
            )
            keys.append((section.key, section.table))
        form_class = type("BoundReportForm", (cls,), fields | {"section_keys": keys})
        if formdata is not None:
            return form_class(formdata=formdata)
        current = view.fields
        data = {name: getattr(current, name) for name in (*LIMITS, "doc_date")}
        data |= {f"section_{s.key}": s.text for s in current.sections}
        data |= {"recipients": "\n".join(current.recipients), "revision": str(view.revision)}
        return form_class(formdata=None, data=data)

    def section_fields(self) -> list:
        return [getattr(self, f"section_{key}") for key, _table in self.section_keys]

    def values(self, view: ReportView) -> Fields:
        """What the form says, as the service's Fields (headings and tables as the document has them)."""
        sections = [
            type(section)(section.key, section.heading, self._clean(f"section_{section.key}"), section.table)
            for section in view.fields.sections
        ]
        minutes = view.kind == ReportKind.MINUTES
        return Fields(
            parent_body=self._clean("parent_body"),
            issuing_body=self._clean("issuing_body"),
            number_symbol=self._clean("number_symbol"),
            place=self._clean("place"),
            doc_date=self.doc_date.data,
            summary=self._clean("summary"),
            sections=sections,
            signer_title=self._clean("signer_title"),
            signer_name=self._clean("signer_name"),
            recipients=[line.strip() for line in self._clean("recipients").splitlines() if line.strip()],
            secretary_title=self._clean("secretary_title") if minutes else view.fields.secretary_title,
            secretary_name=self._clean("secretary_name") if minutes else view.fields.secretary_name,
        )

    def submitted_revision(self) -> int | None:
        value = (self.revision.data or "").strip()
        return int(value) if value.isdigit() and len(value) < 10 else None

    def _clean(self, name: str) -> str:
        value = getattr(self, name).data
        return value.replace("\r\n", "\n").strip() if isinstance(value, str) else ""
