"""Call-back forms."""
from __future__ import annotations

from datetime import datetime

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCharacterCount,
    GovCheckboxInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextInput,
)
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from ..contacts import postcodes
from ..extensions import add_error
from ..interactions.forms import parse_london
from ..timeutil import london_format, utcnow
from .models import CLOSING, SNOOZE_STEPS

HINT = "dd/mm/yyyy HH:MM"


class CallBackForm(FlaskForm):
    """Raise (or edit) a call back."""

    contact_number = StringField("Contact Number", widget=GovTextInput(), validators=[
        InputRequired(message="Enter the Contact Number")])
    description = TextAreaField("Description", widget=GovCharacterCount(), validators=[
        InputRequired(message="Enter the Description: reason, case reference and the "
                              "caller's reference"),
        Length(max=500, message="Description must be 500 characters or fewer")])
    call_received = StringField("Call received", widget=GovTextInput())
    preferred = StringField("Preferred time (optional)", widget=GovTextInput())
    informal = BooleanField("Informal reminder (days or weeks ahead)", widget=GovCheckboxInput())
    alarm = BooleanField("Alarm", default=True, widget=GovCheckboxInput())
    start = StringField("Start", widget=GovTextInput())
    end = StringField("End (must be completed by)", widget=GovTextInput())
    # the Start and End the app last filled in: equal to what is posted means "not typed"
    start_auto = HiddenField()
    end_auto = HiddenField()
    back_entry = BooleanField("Back-entry: this call back was arranged earlier",
                              widget=GovCheckboxInput())
    owner = RadioField("Owner", choices=[("me", "Myself"), ("user", "Another caseworker"),
                                         ("case-owner", "The case owner")], default="me",
                       validators=[Optional()])
    owner_user = SelectField("Caseworker", widget=GovSelect(), validators=[Optional()])
    submit = SubmitField("Save call back", widget=GovSubmitInput())

    def fill_defaults(self) -> None:
        if not self.call_received.data:
            self.call_received.data = london_format(utcnow())

    def parsed(self) -> dict[str, datetime | None]:
        """Parse the times; adds field errors for bad ones."""
        out: dict[str, datetime | None] = {}
        for name in ("call_received", "preferred", "start", "end"):
            field = getattr(self, name)
            text = (field.data or "").strip()
            if not text:
                out[name] = None
                continue
            value = parse_london(text)
            if value is None:
                field.errors = list(field.errors) + [
                    f"Enter {field.label.text.split(' (')[0]} as {HINT}, for example 01/04/2014 09:30"]
            out[name] = value
        return out

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.contact_number.data and postcodes.parse_phone(self.contact_number.data) is None:
            add_error(self.contact_number,
                "Enter a phone number, like 01632 960 001 or 07700 900 982")
            ok = False
        return ok


class SnoozeForm(FlaskForm):
    """Snooze a reminder."""

    minutes = SelectField("Snooze for", choices=[(str(m), f"{m} minutes") for m in SNOOZE_STEPS],
                          default="15", widget=GovSelect())


class CloseForm(FlaskForm):
    """Close a call back with a closing status."""

    status = RadioField("How did the call back end?", choices=[(c, c) for c in CLOSING],
                        widget=GovRadioInput(),
                        validators=[InputRequired(message="Choose how the call back ended")])
    submit = SubmitField("Close call back", widget=GovSubmitInput())


class HandOverForm(FlaskForm):
    """A team leader hands the call back to a caseworker with view-only access to the case."""

    user_id = SelectField("Caseworker", widget=GovSelect(), validate_choice=False, validators=[
        InputRequired(message="Choose the caseworker to hand the call back to")])
    submit = SubmitField("Hand over with view-only access", widget=GovSubmitInput())
