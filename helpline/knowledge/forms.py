"""Knowledge forms: an article, and an organisation in the directory."""
from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovCheckboxInput, GovSubmitInput, GovTextArea
from wtforms import BooleanField, HiddenField, SubmitField, TextAreaField
from wtforms.validators import DataRequired

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
