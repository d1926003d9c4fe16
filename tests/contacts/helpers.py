"""Helpers for contact tests."""
from helpline.contacts import services
from helpline.extensions import db
from tests.conftest import csrf_token

CONSENT = "Consent given"


def contact_form(**overrides) -> dict:
    data = {
        "consent_status": CONSENT, "consent_given_by": "The Caller for themselves",
        "consent_decision_date": ["23", "11", "2026"],
        "first_name": "Robert", "last_name": "Livingstone", "phone": "07700 900123",
        "email": "", "address": "1 High Street", "postcode": "B1 1AA", "postcode_area": "B",
        "region": "", "date_of_birth": ["", "", ""], "preferred_contact_time": "",
    }
    data.update(overrides)
    return data


def post_new(client, **overrides):
    data = contact_form(**overrides)
    data["csrf_token"] = csrf_token(client, "/contacts/new")
    return client.post("/contacts/new", data=data)


def make_contact(actor, **values):
    base = {"consent_status": CONSENT, "consent_given_by": "The Caller for themselves",
            "first_name": "Robert", "last_name": "Livingstone", "phone": "07700 900123",
            "postcode": "B1 1AA", "postcode_area": "B", "region": "West Midlands"}
    base.update(values)
    contact = services.create_contact(base, actor, session_id="factory")
    db.session.commit()
    return contact
