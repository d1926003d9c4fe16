"""Knowledge forms: an article, an organisation in the directory, a local team."""
from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovCheckboxInput,
    GovSubmitInput,
    GovTextArea,
)
from wtforms import BooleanField, HiddenField, SelectMultipleField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired

from ..lookups.forms import ChoiceField, strip, text


class ArticleForm(FlaskForm):
    """Write or edit a knowledge article."""

    title = text("Title", 200, "Enter a title")
    tags = text("Tags", 300)
    body = TextAreaField("Article", widget=GovTextArea(), filters=[strip], validators=[
        DataRequired(message="Enter the article text")])
    retired = BooleanField("Retired", widget=GovCheckboxInput())
    submit = SubmitField("Save article", widget=GovSubmitInput())


class OrganisationForm(FlaskForm):
    """Add a local organisation to the directory."""

    name = text("Name", 200, "Enter the organisation's name")
    category_id = ChoiceField("Signpost category", validators=[DataRequired(
        message="Choose the organisation's signpost category")],
        message="Choose the organisation's signpost category")
    region = ChoiceField("Region", message="Choose a region from the list")
    phone = text("Phone", 40)
    website = text("Website", 300)
    opening_hours = text("Opening hours", 200)
    notes = TextAreaField("Notes", widget=GovTextArea(), filters=[strip])
    submit = SubmitField("Add organisation", widget=GovSubmitInput())


class RetireForm(FlaskForm):
    """Retire one organisation (its button carries the id)."""

    retire = HiddenField()


class LocalTeamForm(FlaskForm):
    """A local team that Local Referrals are mailed to: its mailbox and regions served."""

    name = text("Name", 120, "Enter the team's name", id="team_name")
    mailbox = text("Mailbox", 254, "Enter the team's mailbox (email address)",
                   description="Accepted referrals for its regions are mailed here.")
    # unknown regions are refused by the service, with a message that says what to do
    regions = SelectMultipleField("Regions served", widget=GovCheckboxesInput(),
                                  validate_choice=False, validators=[
        InputRequired(message="Choose the region or regions the team serves")])
    retired = BooleanField("Retired (no more referrals are sent to it)",
                           widget=GovCheckboxInput())
    submit = SubmitField("Save local team", widget=GovSubmitInput())
