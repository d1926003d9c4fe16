"""The interaction form; handlers and interventions are posted as lists of ids."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovCheckboxInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import Length, Optional

from ..timeutil import london_to_utc, to_london, utcnow
from .models import COUNTRIES, DIRECTIONS

DATE_FORMATS = ("%d/%m/%Y %H:%M", "%Y-%m-%dT%H:%M", "%d/%m/%Y", "%Y-%m-%d %H:%M")


def parse_london(text: str) -> datetime | None:
    """dd/mm/yyyy HH:MM (or an ISO datetime-local value) typed in London time → UTC."""
    for fmt in DATE_FORMATS:
        try:
            return london_to_utc(datetime.strptime(text.strip(), fmt))
        except ValueError:
            continue
    return None


def _check(label: str) -> BooleanField:
    return BooleanField(label, widget=GovCheckboxInput(), validators=[Optional()])


class _Checks:
    """The checks the new-interaction form and the after-the-call form share."""

    duration_mins: StringField
    out_of_remit: BooleanField
    out_of_remit_reason_id: SelectField
    parsed_duration: int | None = None

    def _fail(self, field, message: str) -> bool:
        field.errors = list(field.errors) + [message]
        return False

    def _check_duration(self) -> bool:
        text = (self.duration_mins.data or "").strip()
        self.parsed_duration = None
        if not text:
            return True
        digits = text[1:] if text.startswith("-") else text
        # plain 0-9 only: "²" or "٣" pass str.isdigit() (int() fails on the first)
        if not (digits.isascii() and digits.isdigit()):
            return self._fail(self.duration_mins, "Duration must be a whole number of minutes")
        minutes = int(text)
        if minutes < 0:
            return self._fail(self.duration_mins, "Duration must be 0 minutes or more")
        if minutes > 1440:
            return self._fail(self.duration_mins,
                              "Duration must be 24 hours (1440 minutes) or less")
        self.parsed_duration = minutes
        return True

    def _check_remit(self) -> bool:
        if self.out_of_remit.data and not self.out_of_remit_reason_id.data:
            return self._fail(self.out_of_remit_reason_id,
                              "Choose the Out of Remit Reason (required when Out Of Remit)")
        return True


class InteractionForm(_Checks, FlaskForm):
    """New interaction."""

    fully_anonymous = _check("Fully Anonymous")
    enquirer_country = SelectField("Enquirer Country", choices=[("", "Choose…")] + [
        (c, c) for c in COUNTRIES], widget=GovSelect(), validators=[Optional()])
    interaction_date = StringField("Interaction Date", widget=GovTextInput())
    method_id = SelectField("Interaction Method", coerce=str, widget=GovSelect(),
                            validators=[Optional()])
    direction = RadioField("Direction", choices=[(d, d) for d in DIRECTIONS],
                           default=DIRECTIONS[0], validators=[Optional()])
    call_state_id = SelectField("Call State", coerce=str, widget=GovSelect(),
                                validators=[Optional()])
    duration_mins = StringField("Duration (mins)", widget=GovTextInput())
    case_ref = StringField("Case Reference", widget=GovTextInput())
    out_of_remit = _check("Out Of Remit")
    out_of_remit_reason_id = SelectField("Out of Remit Reason", coerce=str, widget=GovSelect(),
                                         validators=[Optional()])
    community = _check("Community")
    covid_related = _check("COVID-19 Related")
    notes = TextAreaField("Notes", widget=GovTextArea(), validators=[Optional(), Length(max=10000)])
    call_back_required = _check("Call Back Required")
    call_id = HiddenField(validators=[Optional(), Length(max=250)])  # the phone system's call
    submit = SubmitField("Save", widget=GovSubmitInput())

    def prefill(self, args) -> None:
        """From a call's screen-pop link: its start time, direction and call."""
        if parse_london(args.get("interaction_date", "")):
            self.interaction_date.data = args["interaction_date"]
        if args.get("direction") in DIRECTIONS:
            self.direction.data = args["direction"]
        self.call_id.data = args.get("call_id", "")[:250]

    def default_date(self) -> None:
        if not self.interaction_date.data:
            self.interaction_date.data = to_london(utcnow()).strftime("%d/%m/%Y %H:%M")

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        return all([ok, self._check_date(), self._check_duration(), self._check_remit()])

    def _check_date(self) -> bool:
        when = parse_london(self.interaction_date.data or "")
        if when is None:
            return self._fail(self.interaction_date, "Enter the Interaction Date as "
                              "dd/mm/yyyy HH:MM, for example 01/02/2021 09:15")
        tomorrow = (to_london(utcnow()) + timedelta(days=1)).replace(hour=0, minute=0,
                                                                     second=0, microsecond=0)
        if when >= london_to_utc(tomorrow.replace(tzinfo=None)):
            return self._fail(self.interaction_date, "Interaction Date cannot be after today")
        self.parsed_date = when
        return True


class AddHandlersForm(FlaskForm):
    """Add handlers to a saved interaction (each is pinged)."""

    submit = SubmitField("Assign handlers", widget=GovSubmitInput())


class FinishForm(_Checks, FlaskForm):
    """After the call: what a handler (or a supervisor) sets or changes on a saved one."""

    call_state_id = SelectField("Call State", coerce=str, widget=GovSelect(),
                                validators=[Optional()])
    duration_mins = StringField("Duration (mins)", widget=GovTextInput())
    interventions = SelectMultipleField("After-Call Emergency Interventions", coerce=str,
                                        widget=GovCheckboxesInput(), validators=[Optional()])
    out_of_remit = _check("Out Of Remit")
    out_of_remit_reason_id = SelectField(
        "Out of Remit Reason", coerce=str, widget=GovSelect(), validators=[Optional()],
        description="A complaint (for example about our response) is an Out of Remit "
                    "reason: it goes to Morning Review.")
    submit = SubmitField("Save after-call details", widget=GovSubmitInput())

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        return all([ok, self._check_duration(), self._check_remit()])
