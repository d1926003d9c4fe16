"""Shared fixtures for the security suite: one record of every kind, signed-in clients
of any role, and a snapshot of every table to prove a refused request changed nothing."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import url_for
from sqlalchemy import func, select

from werkzeug.datastructures import MultiDict

from helpline.callbacks import services as cb_services
from helpline.cases import drafts as case_drafts
from helpline.cases.services import create_case
from helpline.contacts.models import Verification
from helpline.extensions import db
from helpline.interactions.models import Interaction
from helpline.cases.models import Referral
from helpline.knowledge.models import Article, LocalTeam, LocalTeamRegion
from helpline.mailer import queue_mail
from helpline.callback_requests.models import CallBackRequest, UniqueCallBack
from helpline.review.models import ExportBatch
from helpline.telephony.models import Call
from helpline.timeutil import utcnow
from tests.cases.helpers import extra_field, item, seed_lists
from tests.conftest import AuthActions
from tests.contacts.helpers import make_contact
from tests.factories import make_user

# Columns that a refused request may legitimately touch (the idle-timeout clock).
VOLATILE = {"user_sessions": {"last_seen_at"}}


def build_ids() -> dict:
    """One record of every kind, so every URL in the map can be built."""
    seed_lists()
    owner = make_user("supervisor", name="Owner Supervisor")
    contact = make_contact(owner)
    case = create_case(contact, "Matrix case", owner)
    db.session.add(Interaction(enquirer_id=contact.id, case_id=None, direction="Inbound",
                               interaction_date=utcnow()))
    now = utcnow()
    cb = cb_services.create(case, cb_services.CallBackInput(
        "07700 900123", "Matrix", now, None, True, now + timedelta(hours=1),
        now + timedelta(hours=2), False, True, "me"), owner)
    req = CallBackRequest(full_name="Matrix Caller", contact_number="07700 900123",
                          nature="Other", anytime=True)
    batch = ExportBatch(created_by_id=owner.id, filters={}, fmt="csv")
    article = Article(title="Matrix", body="Body")
    mail = queue_mail("x@example.org", "Matrix", "Body", key="matrix")
    fu_team = item("functionally_unique_team", "CSA DPU SARS")
    fu = UniqueCallBack(case_id=case.id, team_id=fu_team.id, sent_to=fu_team.mailbox,
                        contact_number="07700 900123", time_preferences="Mornings",
                        reason="Matrix", created_by_id=owner.id)
    local_team = LocalTeam(name="Matrix team", mailbox="matrix-team@example.org",
                           regions=[LocalTeamRegion(region="Wales")])
    case.referrals.append(Referral(response_type_id=item("local_response_type", "Food").id))
    draft = case_drafts.keep(owner.id, contact.id, None, MultiDict([("title", "Matrix draft")]))
    call = Call(call_ref="security-call", number="07700900123", number_display="07700 900123",
                started_at=utcnow(), ended_at=utcnow(), cause="noAnswer")  # a missed call
    db.session.add_all([req, batch, article, fu, local_team, call])
    db.session.commit()
    return {"contact_id": contact.id, "caller_id": contact.id, "case_id": case.id,
            "interaction_id": db.session.scalar(select(Interaction.id)), "cb_id": cb.id,
            "request_id": req.id, "batch_id": batch.id, "article_id": article.id,
            "mail_id": mail.id, "unique_id": fu.id, "user_id": owner.id, "team_id": owner.default_team_id,
            "item_id": item("local_response_type", "Food").id,
            "field_id": extra_field("Food", "People in household").id,
            "list_name": "signpost_category", "active": 1, "key": "none",
            "filename": "css/helpline.css", "token": "none", "name": "mine",
            "local_team_id": local_team.id, "referral_id": case.referrals[0].id,
            "draft_id": draft.id, "call_id": call.id}


@pytest.fixture
def ids(app):
    return build_ids()


def rule_urls(app, ids: dict):
    """(endpoint, method, url) for every rule of the URL map, built from `ids`."""
    for rule in app.url_map.iter_rules():
        args = {a: ids[a] for a in rule.arguments}
        with app.test_request_context():
            url = url_for(rule.endpoint, **args)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


def signed_in(app, role: str, verified_contact_id: int | None = None, **user_kw):
    """A new client signed in as a new user of `role` (optionally having verified a caller)."""
    client = app.test_client()
    if role == "anon":
        return client
    user = make_user(role, **user_kw)
    AuthActions(client).login(user.email)
    client.user_id = user.id
    if verified_contact_id is not None:
        with client.session_transaction() as s:
            sid = s["sid"]
        db.session.add(Verification(contact_id=verified_contact_id, user_id=user.id,
                                    session_id=sid, details="Name"))
        db.session.commit()
    return client


def snapshot() -> dict[str, list]:
    """Every row of every table (minus the volatile columns), to compare before/after."""
    db.session.expire_all()
    out = {}
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            skip = VOLATILE.get(table.name, set())
            cols = [c for c in table.columns if c.name not in skip]
            rows = conn.execute(select(*cols)).all()
            out[table.name] = sorted(repr(tuple(r)) for r in rows)
    return out


def diff(before: dict, after: dict) -> dict[str, str]:
    """Tables whose contents changed, with the row counts before → after."""
    return {name: f"{len(before[name])} → {len(after[name])} rows"
            for name in before if before[name] != after[name]}


def counts() -> dict[str, int]:
    """Row counts of every table."""
    db.session.expire_all()
    with db.engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in db.metadata.sorted_tables}


_CSRF_META = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def token_of(client, path: str = "/notifications") -> str:
    """A valid CSRF token for this client's session, read from a page as a browser would."""
    html = client.get(path).get_data(as_text=True)
    match = _CSRF_META.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)
