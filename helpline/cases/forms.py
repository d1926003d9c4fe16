"""Case forms."""
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextInput
from wtforms import StringField, SubmitField
from wtforms.validators import InputRequired, Length


class NewCaseForm(FlaskForm):
    """Start a case."""

    title = StringField("Case Title", widget=GovTextInput(), validators=[
        InputRequired(message="Enter a Case Title, for example: Food parcel needed"),
        Length(max=200, message="Case Title must be 200 characters or fewer")])
    submit = SubmitField("Save", widget=GovSubmitInput())
