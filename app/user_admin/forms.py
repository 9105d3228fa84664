"""The administration forms: a user (new or edited), a password reset, a unit, and the bare CSRF form of
the (de)activation buttons. The forms check what was typed; the rules are the services'
(app.services.user_admin, app.services.unit_admin), whose refusals are shown here in the user's words.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app import labels
from app.models import Role, Unit, UnitKind
from app.services.accounts import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from app.services.unit_admin import UnitChanges, clean_aliases

AT_MOST = _l("At most %(max)d characters.")
PASSWORD_HELP = _l(
    "At least %(min)d characters, mixing letters with digits or other characters.", min=PASSWORD_MIN_LENGTH
)
# Why the services refuse a change (AdminError.code), in the user's words; %(...)s from its params.
MESSAGES = {
    "username_format": _l(
        "Use lower-case letters without diacritics, digits, dots, hyphens or underscores (e.g. nguyen.van.a)."
    ),
    "username_taken": _l("This username is already taken."),
    "full_name_missing": _l("Enter the full name."),
    "roles_missing": _l("Choose at least one role."),
    "role_unknown": _l("Choose roles from the list."),
    "unit_unknown": _l("Choose a unit from the list."),
    "unit_inactive": _l("The unit %(unit)s is deactivated: choose an active unit."),
    "own_admin_role": _l("You cannot remove your own administrator role."),
    "last_admin": _l("This is the last active administrator: the system must keep at least one."),
    "self_deactivate": _l("You cannot deactivate your own account."),
    "password_too_short": _l("The password must have at least %(min)d characters.", min=PASSWORD_MIN_LENGTH),
    "password_too_long": _l("The password must have at most %(max)d characters.", max=PASSWORD_MAX_LENGTH),
    "password_one_kind": _l("Mix at least two kinds of characters: letters, digits, other characters."),
    "password_has_username": _l("The password must not contain the username."),
    "code_format": _l("Use capital letters without diacritics, digits and underscores (e.g. PHONG_KHTC)."),
    "code_taken": _l("This code is already used by another unit."),
    "name_missing": _l("Enter the name of the unit."),
    "too_long": AT_MOST,
    "aliases_too_many": _l("At most %(count)d other names, each of at most %(max)d characters."),
    "kind_unknown": _l("Choose a kind from the list."),
    "kind_has_users": _l(
        "This unit has %(count)d active users: it must stay a kind of unit people belong to."
    ),
    "kind_has_children": _l("Units sit under this one: it must stay a kind of unit others can belong to."),
    "parent_missing": _l("Choose the unit this one belongs to."),
    "parent_not_allowed": _l("A unit of this kind stands on its own: leave the parent unit empty."),
    "parent_unknown": _l("Choose a parent unit from the list."),
    "parent_cycle": _l("A unit cannot be placed under itself or under one of its own sub-units."),
    "parent_inactive": _l("The unit %(parent)s is deactivated: reactivate it first."),
    "not_accepted": _l("This change is not accepted."),
}
BLOCKERS = {
    "users": _l("active users: %(count)d"),
    "open_items": _l("open workflow steps: %(count)d"),
    "children": _l("active sub-units: %(count)d"),
}


def message_for(code: str, params: dict | None = None) -> str:
    text = str(MESSAGES.get(code, MESSAGES["not_accepted"]))
    try:
        return text % (params or {})
    except (KeyError, TypeError, ValueError):
        return text


class ServiceErrors:
    """Shows a service's AdminError on the field it names, or on the form as a whole."""

    form_error: str | None = None

    def show(self, error) -> None:
        text = message_for(error.code, error.params)
        field = getattr(self, error.field, None) if error.field else None
        if field is None:
            self.form_error = text
        else:
            field.errors = [*field.errors, text]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def role_choices() -> list[tuple[str, str]]:
    return [(role, str(labels.ROLE_LABELS.get(role, role))) for role in Role.ALL]


def unit_choices(units: list[Unit], empty: str | None = None) -> list[tuple[str, str]]:
    choices = [("", empty)] if empty is not None else []
    for unit in units:
        suffix = "" if unit.active else " (" + str(_l("deactivated")) + ")"
        choices.append((unit.code, f"{unit.name}{suffix}"))
    return choices


class PasswordFields:
    """A typed password, or a generated one (shown once): one of the two."""

    def validate_password(self, field: PasswordField) -> None:
        if not self.generate.data and not field.data:
            raise ValidationError(str(_l("Type a password, or choose to generate one.")))

    def chosen_password(self) -> str | None:
        """The typed password, or None to generate one."""
        return None if self.generate.data else self.password.data


class UserForm(ServiceErrors, FlaskForm):
    """Edit: full name, e-mail, unit, roles."""

    full_name = StringField(
        _l("Full name"),
        validators=[DataRequired(message=MESSAGES["full_name_missing"]), Length(max=200, message=AT_MOST)],
    )
    email = StringField(
        _l("E-mail"),
        validators=[
            Optional(),
            Length(max=200, message=AT_MOST),
            Regexp(
                r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Enter an e-mail address, e.g. ten@skhcn.gov.vn.")
            ),
        ],
    )
    unit = SelectField(_l("Unit"), choices=[], validate_choice=False)
    roles = MultiCheckboxField(_l("Roles"), choices=[], validate_choice=False)

    def offer(self, units: list[Unit]) -> UserForm:
        self.unit.choices = unit_choices(units, empty=str(_l("— Choose a unit —")))
        self.roles.choices = role_choices()
        return self


class NewUserForm(PasswordFields, UserForm):
    """Create: a username and a first password besides what can be edited."""

    username = StringField(
        _l("Username"),
        description=_l("Lower-case letters without diacritics, digits, dots, e.g. nguyen.van.a."),
        validators=[DataRequired(message=_l("Enter a username.")), Length(max=80, message=AT_MOST)],
    )
    password = PasswordField(
        _l("Password"),
        description=PASSWORD_HELP,
        validators=[Length(max=PASSWORD_MAX_LENGTH, message=AT_MOST)],
    )
    generate = BooleanField(_l("Generate a password (shown once)"))


class PasswordResetForm(ServiceErrors, PasswordFields, FlaskForm):
    password = PasswordField(
        _l("New password"),
        description=PASSWORD_HELP,
        validators=[Length(max=PASSWORD_MAX_LENGTH, message=AT_MOST)],
    )
    generate = BooleanField(_l("Generate a password (shown once)"))


class UnitForm(ServiceErrors, FlaskForm):
    """Edit: name, short name, other names (one a line), parent unit, kind."""

    name = StringField(
        _l("Name"),
        validators=[DataRequired(message=MESSAGES["name_missing"]), Length(max=300, message=AT_MOST)],
    )
    short_name = StringField(_l("Short name"), validators=[Optional(), Length(max=200, message=AT_MOST)])
    aliases = TextAreaField(
        _l("Other names"),
        description=_l("One a line: the names plans use for this unit."),
        validators=[Optional(), Length(max=20_000, message=AT_MOST)],
    )
    kind = SelectField(_l("Kind"), choices=[], validate_choice=False)
    parent = SelectField(_l("Belongs to"), choices=[], validate_choice=False)

    def offer(self, parents: list[Unit]) -> UnitForm:
        self.kind.choices = [(kind, str(labels.UNIT_KIND_LABELS.get(kind, kind))) for kind in UnitKind.ALL]
        self.parent.choices = unit_choices(parents, empty=str(_l("— None (stands on its own) —")))
        return self

    def changes(self) -> UnitChanges:
        return UnitChanges(
            name=self.name.data or "",
            short_name=self.short_name.data or None,
            aliases=clean_aliases((self.aliases.data or "").splitlines()),
            parent_code=self.parent.data or None,
            kind=self.kind.data or "",
        )


class NewUnitForm(UnitForm):
    code = StringField(
        _l("Code"),
        description=_l("Stable, never changes: plans and history refer to it."),
        validators=[DataRequired(message=_l("Enter a code.")), Length(max=40, message=AT_MOST)],
    )


class ConfirmForm(FlaskForm):
    """The CSRF token of a button that changes something."""
