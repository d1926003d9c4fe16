"""Every route × every role (and signed out): the expected status, from the URL map.

A route added without an access rule fails `test_every_route_declares_who_may_use_it`.
"""
import pytest
from flask import Blueprint
from sqlalchemy import select

from helpline.callbacks import services as cb_services
from helpline.callbacks.models import CallBack
from helpline.cases.services import create_case
from helpline.contacts.models import Contact, Verification
from helpline.extensions import db
from helpline.interactions.models import Interaction
from helpline.knowledge.models import Article
from helpline.lookups.models import ResponseTypeField
from helpline.mailer import queue_mail
from helpline.requests.models import CallBackRequest
from helpline.review.models import ExportBatch
from helpline.timeutil import utcnow
from tests.cases.helpers import extra_field, item, seed_lists
from tests.conftest import AuthActions
from tests.contacts.helpers import make_contact
from tests.factories import make_user
from tests.security.matrix import ROLES, access_rule, allowed, missing_rules


def test_every_route_declares_who_may_use_it(app):
    assert missing_rules(app) == []


def test_the_helper_catches_a_route_without_a_rule(app):
    from helpline import create_app
    fresh = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                        "REDIS_URL": app.config["REDIS_URL"]})
    bp = Blueprint("careless", __name__)

    @bp.get("/careless")
    def careless():
        return "anyone can see this"
    fresh.register_blueprint(bp)
    assert missing_rules(fresh) == ["careless.careless"]


@pytest.fixture
def ids(app):
    """One record of every kind, so every URL can be built."""
    seed_lists()
    owner = make_user("supervisor", name="Owner Supervisor")
    contact = make_contact(owner)
    case = create_case(contact, "Matrix case", owner)
    db.session.add(Interaction(enquirer_id=contact.id, case_id=None, direction="Inbound",
                               interaction_date=utcnow()))
    now = utcnow()
    from datetime import timedelta
    cb = cb_services.create(case, cb_services.CallBackInput(
        "07700 900123", "Matrix", now, None, True, now + timedelta(hours=1),
        now + timedelta(hours=2), False, True, "me"), owner)
    req = CallBackRequest(full_name="Matrix Caller", contact_number="07700 900123",
                          nature="Other", anytime=True)
    batch = ExportBatch(created_by_id=owner.id, filters={}, fmt="csv")
    article = Article(title="Matrix", body="Body")
    mail = queue_mail("x@example.org", "Matrix", "Body", key="matrix")
    db.session.add_all([req, batch, article])
    db.session.commit()
    return {"contact_id": contact.id, "caller_id": contact.id, "case_id": case.id,
            "interaction_id": db.session.scalar(select(Interaction.id)), "cb_id": cb.id,
            "request_id": req.id, "batch_id": batch.id, "article_id": article.id,
            "mail_id": mail.id, "user_id": owner.id, "team_id": owner.default_team_id,
            "item_id": item("local_response_type", "Food").id,
            "field_id": extra_field("Food", "People in household").id,
            "list_name": "signpost_category", "active": 1, "key": "none",
            "filename": "css/helpline.css"}


def _urls(app, ids):
    for rule in app.url_map.iter_rules():
        args = {a: ids[a] for a in rule.arguments}
        with app.test_request_context():
            from flask import url_for
            url = url_for(rule.endpoint, **args)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


def _client(app, role, contact_id):
    client = app.test_client()
    if role == "anon":
        return client
    user = make_user(role)
    AuthActions(client).login(user.email)
    with client.session_transaction() as s:
        sid = s["sid"]
    db.session.add(Verification(contact_id=contact_id, user_id=user.id, session_id=sid,
                                details="Name"))  # volunteers pass the verification gate
    db.session.commit()
    return client


@pytest.mark.parametrize("role", ("anon",) + ROLES)
def test_route_role_matrix(app, ids, role):
    client = _client(app, role, ids["contact_id"])
    problems = []
    for endpoint, method, url in _urls(app, ids):
        if endpoint in ("notifications.stream", "auth.logout"):
            continue  # a stream never ends; signing out is tested in tests/auth
        rule = access_rule(app, endpoint)
        resp = client.open(url, method=method)
        status = resp.status_code
        to_login = status == 302 and "/login" in resp.headers.get("Location", "")
        if role == "anon":
            ok = rule == "public" or to_login or status in (400, 401)
        elif not allowed(rule, role):
            ok = status in (400, 403)  # a POST may meet the CSRF check first
        elif method == "POST":
            ok = status == 400  # allowed, but no CSRF token: refused, nothing changed
        else:
            ok = status not in (401, 403, 500) and not to_login
        if not ok:
            problems.append(f"{method} {url} ({endpoint}) as {role}: {status}")
    assert problems == []
