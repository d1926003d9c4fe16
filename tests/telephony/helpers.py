"""Telephony test helpers: a token, a stored caller with an open case, and the PBX's posts."""
from __future__ import annotations

from sqlalchemy import func, select

from helpline.audit.models import AuditEntry
from helpline.cases.services import create_case
from helpline.extensions import db
from helpline.notifications.models import Notification
from helpline.telephony import services
from helpline.telephony.models import Call
from tests.cases.helpers import seed_lists
from tests.contacts.helpers import make_contact
from tests.factories import make_user


def setup_line() -> dict:
    """An admin's token; Jane Smith (07700 900123) with an open case; two volunteers."""
    seed_lists()
    admin = make_user("admin", name="Ada Admin")
    token = services.rotate_token(admin)
    db.session.commit()
    sam = make_user("volunteer", name="Sam Handler", email="sam@example.org")
    sam.phone_login = "201"
    kim = make_user("volunteer", name="Kim Other", email="kim@example.org")
    kim.phone_login = "202"
    db.session.commit()
    jane = make_contact(sam, first_name="Jane", last_name="Smith", phone="07700 900123")
    case = create_case(jane, "Food parcel needed", sam)
    db.session.commit()
    return {"admin": admin, "token": token, "sam": sam, "kim": kim, "jane": jane,
            "case": case}


def pbx(client, token: str, as_json: bool = False, **fields):
    """Post one CTI event as a PBX would (form-encoded unless as_json)."""
    if as_json:
        return client.post(f"/telephony/{token}", json=fields)
    return client.post(f"/telephony/{token}", data=fields)


def ring(client, token: str, call_id: str = "c1", number: str = "+44 7700 900123",
         users=("201", "202")):
    return pbx(client, token, **{"event": "newCall", "from": number, "to": "01632960000",
                                 "direction": "in", "callId": call_id, "user[]": list(users)})


def counts() -> tuple[int, int, int]:
    """Calls, notifications and audit entries stored."""
    return tuple(db.session.scalar(select(func.count()).select_from(m))  # type: ignore
                 for m in (Call, Notification, AuditEntry))


def the_call(ref: str = "c1") -> Call:
    """The call log row of one callId, read afresh."""
    db.session.expire_all()
    return db.session.scalars(select(Call).where(Call.call_ref == ref)).one()
