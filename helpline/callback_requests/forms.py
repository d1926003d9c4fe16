"""Call-back request forms."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovFileInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import BooleanField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from ..contacts import postcodes
from ..contacts.forms import GovDateField
from ..extensions import add_error
from ..interactions.forms import parse_london
from ..numbers import whole_number
from .models import EXISTING_REASONS, NATURES, OFFLINE_TEMPLATES


class RequestForm(FlaskForm):
    """New call-back request (also the back-entry of a paper form)."""

    full_name = StringField("Full Name", widget=GovTextInput(), validators=[
        InputRequired(message="Enter the caller's Full Name"), Length(max=200)])
    address = TextAreaField("Address", widget=GovTextArea(), validators=[Optional(), Length(max=500)])
    date_of_birth = GovDateField("Date of Birth")
    contact_number = StringField("Contact Number", widget=GovTextInput(), validators=[
        InputRequired(message="Enter the Contact Number")])
    required_at = StringField("When Call Back Required", widget=GovTextInput())
    anytime = BooleanField("Call Back Anytime", widget=GovCheckboxInput())
    nature = RadioField("Nature of Enquiry", choices=[(n, n) for n in NATURES],
                        validators=[InputRequired(message="Choose the Nature of Enquiry")])
    existing_reason = RadioField("Reason (Existing Case)", choices=[(r, r) for r in EXISTING_REASONS],
                                 validators=[Optional()])
    notes = TextAreaField("Notes", widget=GovTextArea(), validators=[Optional(), Length(max=5000)])
    downtime = BooleanField("Application taken during system downtime (call as many times as "
                            "needed)", widget=GovCheckboxInput())
    offline_template = SelectField("Offline template", widget=GovSelect(), validators=[Optional()],
                                   choices=[("", "Not a downtime application")]
                                   + [(t, t) for t in OFFLINE_TEMPLATES])
    team_id = SelectField("Receiving team", widget=GovSelect(), validators=[Optional()])
    back_entry = BooleanField("Back-entry from a paper form (keep the times it gives)",
                              widget=GovCheckboxInput())
    received_at = StringField("Call received (for back-entry)", widget=GovTextInput())
    submit = SubmitField("Save", widget=GovSubmitInput())

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        self.parsed_required = self.parsed_received = None
        if self.contact_number.data and postcodes.parse_phone(self.contact_number.data) is None:
            add_error(self.contact_number, "Enter a phone number, like 07700 900 982")
            ok = False
        if self.nature.data == "Existing Case" and not self.existing_reason.data:
            add_error(self.existing_reason, "Choose the reason for an Existing Case")
            ok = False
        text = (self.required_at.data or "").strip()
        if not text and not self.anytime.data:
            add_error(self.required_at, "Enter When Call Back Required (dd/mm/yyyy HH:MM) "
                                           "or tick Call Back Anytime")
            ok = False
        elif text:
            self.parsed_required = parse_london(text)
            if self.parsed_required is None:
                add_error(self.required_at, "Enter When Call Back Required as dd/mm/yyyy HH:MM")
                ok = False
        if self.offline_template.data and not self.downtime.data:
            add_error(self.downtime, "Tick this for an application taken on an offline "
                                        "template during system downtime")
            ok = False
        received = (self.received_at.data or "").strip()
        if self.back_entry.data and received:
            self.parsed_received = parse_london(received)
            if self.parsed_received is None:
                add_error(self.received_at, "Enter Call received as dd/mm/yyyy HH:MM")
                ok = False
        return ok


class AllocateForm(FlaskForm):
    """Allocate to a caseworker."""

    # validate_choice off: the service refuses inactive or unknown users with a clear message
    caseworker = SelectField("New Applications Caseworker", widget=GovSelect(),
                             validators=[Optional()], validate_choice=False)
    submit = SubmitField("Allocate", widget=GovSubmitInput())


class AttemptForm(FlaskForm):
    """Record an attempt."""

    made_at = StringField("Date and time of the call", widget=GovTextInput())
    result = SelectField("Call Result", widget=GovSelect(), validators=[Optional()])
    notes = TextAreaField("Notes", widget=GovTextArea(), validators=[Optional(), Length(max=2000)])
    next_call_at = StringField("Next call (if not complete)", widget=GovTextInput())
    outcome = SelectField("Call Back Outcome (if complete)", widget=GovSelect(),
                          validators=[Optional()])
    submit = SubmitField("Save attempt", widget=GovSubmitInput())


class StopForm(FlaskForm):
    """Stop calling (continuing would unreasonably delay progress of the case)."""

    reason = TextAreaField("Reason for stopping the calls", widget=GovTextArea(),
                           validators=[Optional(), Length(max=2000)])
    submit = SubmitField("Stop calling", widget=GovSubmitInput())


class AttachForm(FlaskForm):
    """Attach the completed paper form (offline template) to the request."""

    attachment = FileField("Completed paper form (PDF, PNG or JPEG)", widget=GovFileInput())
    submit = SubmitField("Attach", widget=GovSubmitInput())


class UniqueForm(FlaskForm):
    """Functionally Unique Callback Proforma."""

    team_id = SelectField("Functionally Unique team", widget=GovSelect(),
                          validators=[Optional()], validate_choice=False)
    contact_number = StringField("Contact number", widget=GovTextInput(), validators=[
        InputRequired(message="Enter the contact number to call the client on")])
    time_preferences = TextAreaField("Time preferences", widget=GovTextArea(), validators=[
        InputRequired(message="Enter when the client would like to be called"),
        Length(max=1000)])
    reason = TextAreaField("Reason for the call back", widget=GovTextArea(), validators=[
        InputRequired(message="Enter why the client needs the specialist team"),
        Length(max=4000)])
    submit = SubmitField("Send proforma", widget=GovSubmitInput())

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.contact_number.data and postcodes.parse_phone(self.contact_number.data) is None:
            add_error(self.contact_number, "Enter a phone number, like 07700 900 982")
            ok = False
        if whole_number(self.team_id.data) is None:
            add_error(self.team_id, "Choose the Functionally Unique team to send the "
                                       "proforma to")
            ok = False
        return ok
