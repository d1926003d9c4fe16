"""Admin forms: teams, users, lookup-list items and response-type fields. Each field says
what to do when it is refused; rules that need the database are in the services."""
from __future__ import annotations

import re

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovCheckboxInput,
    GovPasswordInput,
    GovSubmitInput,
    GovTextInput,
)
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import Length, ValidationError

from ..auth.models import ROLE_LABELS, ROLES
from ..lookups.forms import ChoiceField, strip, text
from ..lookups.models import FIELD_KINDS

TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class TeamForm(FlaskForm):
    """Add or edit a team."""

    name = text("Name", 120, "Enter the team name")
    shift_start = StringField("Shift starts (HH:MM)", widget=GovTextInput(), filters=[strip])
    shift_end = StringField("Shift ends (HH:MM)", widget=GovTextInput(), filters=[strip])
    region = ChoiceField("Region served", message="Choose a region from the list")
    submit = SubmitField("Save team", widget=GovSubmitInput())

    def validate_shift_start(self, field) -> None:
        """HH:MM, 24-hour."""
        _time(field)

    def validate_shift_end(self, field) -> None:
        """HH:MM, 24-hour."""
        _time(field)


def _time(field) -> None:
    if field.data and not TIME.match(field.data):
        raise ValidationError("Enter shift times as HH:MM, for example 08:00")


PASSWORD_HINT = ("Temporary: the user must choose their own when they next sign in. At least "
                 "{n} characters, not a common one.")


class UserForm(FlaskForm):
    """The fields a new user and an edited one share."""

    name = text("Name", 120, "Enter the user's full name")
    role = ChoiceField("Role", choices=[(r, ROLE_LABELS[r]) for r in ROLES], message="Choose the user's role")
    frontline_operator = BooleanField("Frontline Operator", widget=GovCheckboxInput())
    data_lead = BooleanField("Data-team lead", widget=GovCheckboxInput(), description=(
        "May download every export (others only their own); personal-data exports only "
        "with the Data team role."))
    submit = SubmitField("Save", widget=GovSubmitInput())


class NewUserForm(UserForm):
    """Create a user: login email, first team and a temporary password."""

    email = text("Login email", 254, "Enter the user's login email")
    # a name not in the list makes that team (as `flask create-user` does)
    team = ChoiceField("Team", validate_choice=False, filters=[strip], validators=[
        Length(max=120, message="Team must be 120 characters or fewer")])
    password = PasswordField("Password", widget=GovPasswordInput())


class EditUserForm(UserForm):
    """Edit a user; a password typed here replaces theirs (temporary)."""

    teams = SelectMultipleField("Helpline Team Access", widget=GovCheckboxesInput(),
                                validate_choice=False)  # unknown ids are left out
    default_team = ChoiceField("Default Team", validate_choice=False)
    language = text("Language", 40)
    phone_login = text("Extension or phone login", 120, description=(
        "How the phone system names them (an extension such as 42, or a login), so "
        "incoming calls pop up on their pages."))
    morning_reviewer = BooleanField("Morning reviewer", widget=GovCheckboxInput(), description=(
        "Opens the Morning Review (complaints, emergency interventions, call backs) and its "
        "flagged interactions, whatever their role. Supervisors always can."))
    password = PasswordField("Reset password (leave empty to keep)", widget=GovPasswordInput())


class AddItemForm(FlaskForm):
    """Add an item to a lookup list (and its mailbox, for lists that mail)."""

    name = text("New item", 200, "Enter the name of the new item", id="new-name")
    mailbox = StringField("Mailbox", widget=GovTextInput(), filters=[strip], id="new-mailbox")
    submit = SubmitField("Add", widget=GovSubmitInput())


class ChangeItemForm(FlaskForm):
    """Rename, move, retire or restore, flag, or set the mailbox of one item."""

    action = HiddenField()
    name = StringField("Name", filters=[strip])
    mailbox = StringField("Mailbox", filters=[strip])


class ResponseFieldForm(FlaskForm):
    """An extra field a Local Response Type asks for."""

    name = text("Field name", 120, "Enter the field name")
    kind = ChoiceField("Kind", choices=FIELD_KINDS, message="Choose the kind of field")
    # no Optional(): it would stop the chain before validate_choices asks for them
    choices = StringField("Choices (for “choice”, separated by commas)", widget=GovTextInput(),
                          filters=[strip], validators=[Length(
                              max=500, message="Choices must be 500 characters or fewer")])
    required = BooleanField("Required", widget=GovCheckboxInput())
    submit = SubmitField("Add field", widget=GovSubmitInput())

    def validate_choices(self, field) -> None:
        """A choice field needs its choices."""
        if self.kind.data == "choice" and not field.data:
            raise ValidationError("Enter the choices, separated by commas")
