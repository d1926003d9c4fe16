"""Every route × every role (and signed out): the expected status, from the URL map.

A route added without an access rule fails `test_every_route_declares_who_may_use_it`.
"""
import pytest
from flask import Blueprint

from tests.security.conftest import rule_urls, signed_in
from tests.security.matrix import CSRF_EXEMPT, ROLES, access_rule, allowed, missing_rules


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


def _client(app, role, contact_id):
    return signed_in(app, role, verified_contact_id=contact_id)  # volunteers pass the gate


@pytest.mark.parametrize("role", ("anon",) + ROLES)
def test_route_role_matrix(app, ids, role):
    client = _client(app, role, ids["contact_id"])
    problems = []
    for endpoint, method, url in rule_urls(app, ids):
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
        elif method == "POST" and endpoint in CSRF_EXEMPT:
            ok = status == 404  # its token ("none") is wrong: nothing to confirm
        elif method == "POST":
            ok = status == 400  # allowed, but no CSRF token: refused, nothing changed
        else:
            ok = status not in (401, 403, 500) and not to_login
        if not ok:
            problems.append(f"{method} {url} ({endpoint}) as {role}: {status}")
    assert problems == []
