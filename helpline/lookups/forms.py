"""Form fields every editor shares: text that ignores surrounding spaces and says its
limit, and a select from a list (often an admin-edited lookup list) whose refusal says what
to choose."""
from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovSelect, GovTextInput
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError


def strip(value: str | None) -> str | None:
    """Leading and trailing spaces never count."""
    return value.strip() if isinstance(value, str) else value


def text(label: str, max_len: int, required: str | None = None, **kw) -> StringField:
    """A text input: required (with its message) or optional, never longer than the column."""
    first = DataRequired(message=required) if required else Optional()
    return StringField(label, widget=GovTextInput(), filters=[strip], validators=[
        first, Length(max=max_len, message=f"{label} must be {max_len} characters or fewer")],
        **kw)


class ChoiceField(SelectField):
    """A select whose refusal says what to do (WTForms' own says "Not a valid choice")."""

    def __init__(self, label=None, validators=None, message: str = "Choose from the list",
                 **kw) -> None:
        kw.setdefault("widget", GovSelect())
        kw.setdefault("default", "")
        super().__init__(label, validators, **kw)
        self.message = message

    def pre_validate(self, form) -> None:
        try:
            super().pre_validate(form)
        except ValidationError:
            raise ValidationError(self.message) from None
