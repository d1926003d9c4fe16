"""Case forms. Signpost and referral rows are repeated inputs parsed by rows.py."""
from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCharacterCount,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import HiddenField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from ..extensions import add_error
from ..numbers import whole_number
from .models import WHO_REQUIRES
from .services import MAX_NOTE

YES_NO = [("yes", "Yes"), ("no", "No")]


def yes_no(label: str, default: str | None = None) -> RadioField:
    return RadioField(label, choices=YES_NO, default=default, validators=[Optional()])


def to_bool(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


def from_bool(value: bool | None) -> str | None:
    return None if value is None else ("yes" if value else "no")


class CaseForm(FlaskForm):
    """The whole case screen; one Save."""

    title = StringField("Case Title", widget=GovTextInput(), validators=[
        InputRequired(message="Enter a Case Title, for example: Food parcel needed"),
        Length(max=200, message="Case Title must be 200 characters or fewer")])
    who_requires_support = RadioField("Who Requires Urgent Practical Support",
                                      choices=[(w, w) for w in WHO_REQUIRES],
                                      default=WHO_REQUIRES[0], validators=[Optional()])
    beneficiary_id = HiddenField()
    beneficiary_consent = yes_no("Consent from Beneficiary")
    psychosocial_support = yes_no("Psychosocial Support Given", "no")
    safeguarding_activated = yes_no("Safeguarding Activated", "no")
    safeguarding_reason = TextAreaField("Safeguarding Reason", widget=GovTextArea(),
                                        validators=[Optional(), Length(max=2000)])
    feedback_consent = yes_no("Feedback Consent")
    ready_for_review = yes_no("Ready for review", "no")
    note = TextAreaField("Add to Summary Notes", widget=GovCharacterCount(),
                         validators=[Optional(), Length(max=MAX_NOTE, message=(
                             f"A note must be {MAX_NOTE:,} characters or fewer"))])
    version = HiddenField()
    loaded_at = HiddenField()
    submit = SubmitField("Save", widget=GovSubmitInput())
    save_close = SubmitField("Save & Close", widget=GovSubmitInput())

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.safeguarding_activated.data == "yes" and not (
                self.safeguarding_reason.data or "").strip():
            add_error(self.safeguarding_reason,
                "Enter the Safeguarding Reason (required when Safeguarding Activated is Yes)")
            ok = False
        if self.who_requires_support.data == WHO_REQUIRES[1]:
            if whole_number(self.beneficiary_id.data) is None:
                add_error(self.beneficiary_id,
                    "Choose the beneficiary: search existing contacts or Quick Create one")
                ok = False
        return ok


class NoteForm(FlaskForm):
    """Add a summary note (append only)."""

    note = TextAreaField("Add to Summary Notes", widget=GovCharacterCount(), validators=[
        InputRequired(message="Enter the note"),
        Length(max=MAX_NOTE, message=f"A note must be {MAX_NOTE:,} characters or fewer")])
    submit = SubmitField("Add note", widget=GovSubmitInput())


class AssignForm(FlaskForm):
    """Assign the case to a handler or a team queue."""

    assignee = SelectField("Assign to", widget=GovSelect(), validators=[
        InputRequired(message="Choose a handler or a team")])
    submit = SubmitField("Assign", widget=GovSubmitInput())


class ResolveForm(FlaskForm):
    """Resolve with Solution and Cause (both required)."""

    solution = TextAreaField("Solution", widget=GovTextArea(), validators=[
        InputRequired(message="Enter the Solution"), Length(max=5000)])
    cause = TextAreaField("Cause", widget=GovTextArea(), validators=[
        InputRequired(message="Enter the Cause"), Length(max=5000)])
    submit = SubmitField("Resolve", widget=GovSubmitInput())


class CloseForm(FlaskForm):
    """Close the case (Quick Close for its owner or assignee once Solved); a supervisor
    closing a case that is not theirs to close, or not Solved, gives a reason."""

    reason = TextAreaField("Reason for closing", widget=GovTextArea(), validators=[
        Length(max=2000, message="A reason must be 2,000 characters or fewer")])
    submit = SubmitField("Close case", widget=GovSubmitInput())


class OwnerForm(FlaskForm):
    """Hand the case over to a new owner (its call backs follow)."""

    owner = SelectField("Owner", widget=GovSelect(), validators=[
        InputRequired(message="Choose the new owner")])
    submit = SubmitField("Change owner", widget=GovSubmitInput())
