"""Contact forms: mandatory fields follow the consent status."""
from __future__ import annotations

from datetime import date

from email_validator import EmailNotValidError, validate_email
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovDateInput,
    GovRadioInput,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    DateField,
    RadioField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import Length, Optional

from ..site_settings import DEFAULT_CONSENT_STATEMENT
from . import postcodes
from .models import CONSENT_STATUSES, VERIFICATION_DETAILS

# The seeds' wording; what is shown is site_settings.consent_statement() (Admin → Settings).
CONSENT_STATEMENT = DEFAULT_CONSENT_STATEMENT


class GovDateField(DateField):
    """A three-part date (day, month, year) with a human message."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format="%d %m %Y", widget=GovDateInput(), **kwargs)

    def process_formdata(self, valuelist):
        if len(valuelist) != 3:  # not posted (or tampered): the widget needs day/month/year
            self.raw_data = None if not valuelist else (list(valuelist) + ["", "", ""])[:3]
        if not valuelist or not any(v.strip() for v in valuelist):
            self.data = None
            return
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(f"{self.label.text} must be a real date, "
                             "for example 27 3 1962") from exc


def _text(label: str, max_len: int, **kw) -> StringField:
    return StringField(label, widget=GovTextInput(),
                       validators=[Optional(), Length(max=max_len, message=(
                           f"{label} must be {max_len} characters or fewer"))], **kw)


class ContactForm(FlaskForm):
    """New contact / edit contact. Consent Given By is not asked: on a new contact it is
    always "The Caller for themselves" (seed 004); consent given for someone else is
    recorded on the case (Quick Create), and an edit keeps what the contact has."""

    consent_status = RadioField("Consent Status", choices=[(c, c) for c in CONSENT_STATUSES],
                                widget=GovRadioInput(), validators=[Optional()])
    consent_decision_date = GovDateField("Consent Decision Date", default=date.today)
    first_name = _text("First Name", 100)
    last_name = _text("Last Name", 100)
    phone = _text("Phone", 40)
    email = _text("Email", 254)
    address = TextAreaField("Address", widget=GovTextArea(), validators=[
        Optional(), Length(max=500, message="Address must be 500 characters or fewer")])
    postcode = _text("Postcode", 10)
    postcode_area = _text("Postcode (Lookup)", 3)
    region = StringField("Region (Lookup)", widget=GovTextInput())
    date_of_birth = GovDateField("Date of Birth")
    preferred_contact_time = _text("Preferred contact time", 100)
    submit = SubmitField("Save", widget=GovSubmitInput())
    save_close = SubmitField("Save and Close", widget=GovSubmitInput())

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        self._fill_lookup()
        checks = [self._check_consent(), self._check_lookup(), self._check_phone(),
                  self._check_email(), self._check_postcode(), self._check_dates()]
        return ok and all(checks)

    # --- rules -------------------------------------------------------------
    def _fail(self, field, message: str) -> bool:
        field.errors = list(field.errors) + [message]
        return False

    def _fill_lookup(self) -> None:
        """A full postcode pre-fills the lookup; the region always comes from the lookup."""
        if not (self.postcode_area.data or "").strip() and self.postcode.data:
            self.postcode_area.data = postcodes.area_of(self.postcode.data) or ""
        area = postcodes.lookup(self.postcode_area.data)
        if area:
            self.postcode_area.data = area.code
        self.region.data = area.region if area else ""

    def _check_consent(self) -> bool:
        if not self.consent_status.data:
            return self._fail(self.consent_status, "Select the Consent Status the caller gave")
        if self.consent_status.data != CONSENT_STATUSES[0]:
            return True
        ok = True
        for fld, label in ((self.first_name, "First Name"), (self.last_name, "Last Name"),
                           (self.postcode, "Postcode")):
            if not (fld.data or "").strip():
                ok = self._fail(fld, f"Enter the {label} (required when consent is given)")
        return ok

    def _check_lookup(self) -> bool:
        typed = (self.postcode_area.data or "").strip()
        if not typed:
            self._fail(self.postcode_area, "Enter the Postcode (Lookup): the letters at the "
                       "start of the postcode, for example B or SW, or UK")
            return self._fail(self.region, "Region (Lookup) is filled from the Postcode (Lookup)")
        if not postcodes.lookup(typed):
            self._fail(self.postcode_area, f"'{typed}' is not a UK postcode area. Enter the "
                       "letters at the start of the postcode, for example B or SW, or UK")
            return self._fail(self.region, "Region (Lookup) is filled from the Postcode (Lookup)")
        return True

    def _check_phone(self) -> bool:
        typed = self.phone.data
        if typed is None or not typed.strip():
            return True
        number = postcodes.parse_phone(typed)
        if number is None:
            return self._fail(self.phone, "Enter a phone number, like 01632 960 001, "
                              "07700 900 982 or +44 808 157 0192")
        self.phone.data = postcodes.format_phone(number)
        return True

    def _check_email(self) -> bool:
        typed = self.email.data
        if typed is None or not typed.strip():
            return True
        try:
            self.email.data = validate_email(typed.strip(),
                                             check_deliverability=False).normalized
        except EmailNotValidError:
            return self._fail(self.email, "Enter an email address in the correct format, "
                              "like name@example.com")
        return True

    def _check_postcode(self) -> bool:
        if not (self.postcode.data or "").strip():
            return True
        if not postcodes.is_full_postcode(self.postcode.data):
            return self._fail(self.postcode, "Enter a full UK postcode, like B1 1AA or SW1A 2AA")
        self.postcode.data = postcodes.normalise_postcode(self.postcode.data)
        area = postcodes.area_of(self.postcode.data)
        if self.postcode_area.data and area and area != self.postcode_area.data:
            return self._fail(self.postcode_area, f"The postcode {self.postcode.data} is in "
                              f"area {area}, not {self.postcode_area.data}")
        return True

    def _check_dates(self) -> bool:
        ok = True
        today = date.today()
        if self.date_of_birth.data and self.date_of_birth.data > today:
            ok = self._fail(self.date_of_birth, "Date of Birth must be in the past")
        if self.consent_decision_date.data and self.consent_decision_date.data > today:
            ok = self._fail(self.consent_decision_date,
                            "Consent Decision Date must be today or in the past")
        return ok

    def values(self) -> dict:
        """Cleaned values for the service (names only kept with consent)."""
        keep_names = self.consent_status.data == CONSENT_STATUSES[0]

        def clean(v):
            return (v or "").strip() or None

        return {
            "consent_status": self.consent_status.data,
            "consent_decision_date": self.consent_decision_date.data,
            "first_name": clean(self.first_name.data) if keep_names else None,
            "last_name": clean(self.last_name.data) if keep_names else None,
            "phone": clean(self.phone.data) if keep_names else None,
            "email": clean(self.email.data) if keep_names else None,
            "address": clean(self.address.data) if keep_names else None,
            "postcode": clean(self.postcode.data),
            "postcode_area": self.postcode_area.data,
            "region": self.region.data,
            "date_of_birth": self.date_of_birth.data if keep_names else None,
            "preferred_contact_time": clean(self.preferred_contact_time.data),
        }


class EditContactForm(ContactForm):
    """Editing adds a reason, needed when a name, phone, postcode or address changes."""

    reason = TextAreaField("Reason for the change", widget=GovTextArea(),
                           validators=[Optional(), Length(max=1000)])
    submit = SubmitField("Save changes", widget=GovSubmitInput())


class VerifyForm(FlaskForm):
    """Record that the caller passed verification."""

    details = SelectMultipleField("Which details did the caller confirm?",
                                  choices=[(d, d) for d in VERIFICATION_DETAILS],
                                  widget=GovCheckboxesInput(), validators=[Optional()])
    submit = SubmitField("Caller verified", widget=GovSubmitInput())

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if not self.details.data:
            self.details.errors = list(self.details.errors) + [
                "Select the details the caller confirmed"]
            return False
        return ok


class MergeForm(FlaskForm):
    """Confirm a merge (the per-field choices are plain radios in the template)."""

    submit = SubmitField("Merge contacts", widget=GovSubmitInput())


def quick_create_form(**kwargs) -> ContactForm:
    """The case screen's Quick Create fields (prefixed b-); CSRF is checked on the request as a
    whole. The caller gives consent on the beneficiary's behalf (services.create_beneficiary)."""
    return ContactForm(prefix="b", meta={"csrf": False}, **kwargs)
