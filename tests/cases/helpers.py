"""Helpers for case tests."""
from sqlalchemy import select

from helpline.demo import seed_lookups, seed_response_type_fields
from helpline.extensions import db
from helpline.lookups.models import LookupItem, ResponseTypeField


def seed_lists() -> None:
    seed_lookups()
    db.session.flush()
    seed_response_type_fields()
    db.session.commit()


def item(list_name: str, name: str) -> LookupItem:
    return db.session.scalar(select(LookupItem).where(LookupItem.list_name == list_name,
                                                      LookupItem.name == name))


def extra_field(type_name: str, field_name: str) -> ResponseTypeField:
    t = item("local_response_type", type_name)
    return db.session.scalar(select(ResponseTypeField).where(
        ResponseTypeField.response_type_id == t.id, ResponseTypeField.name == field_name))


def case_form(**overrides) -> dict:
    data = {"title": "Food parcel needed", "who_requires_support": "The person who called",
            "psychosocial_support": "no", "safeguarding_activated": "no",
            "safeguarding_reason": "", "feedback_consent": "yes", "ready_for_review": "no",
            "note": "", "submit": "Save"}
    data.update(overrides)
    return data
