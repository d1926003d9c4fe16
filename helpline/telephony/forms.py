"""Telephony forms: the endpoint settings (admin) and the one-button actions."""
from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextArea
from wtforms import SubmitField, TextAreaField
from wtforms.validators import Length, Optional


class AddressesForm(FlaskForm):
    """Which addresses may send call events (empty: any)."""

    addresses = TextAreaField(
        "Allowed addresses", widget=GovTextArea(),
        validators=[Optional(), Length(max=2000, message="Allowed addresses must be 2000 "
                                                         "characters or fewer")],
        description="The phone system's address or network, one a line (for example "
                    "192.0.2.10 or 192.0.2.0/24). Leave empty to accept any address.")
    submit = SubmitField("Save addresses", widget=GovSubmitInput())


class RotateForm(FlaskForm):
    """Make a new token (the old one stops working)."""

    submit = SubmitField("Generate a new token", widget=GovSubmitInput())


class CallBackForm(FlaskForm):
    """One click on a missed call."""

    submit = SubmitField("Create call back", widget=GovSubmitInput())


class DismissForm(FlaskForm):
    """Close the answered call's panel."""

    submit = SubmitField("Close", widget=GovSubmitInput())
