"""Every POST route refuses a missing or wrong CSRF token, and changes nothing.

Generated from the URL map: a new POST route is covered without editing this file.
Each route is posted by a user whose role may use it (see matrix.py), so the refusal
comes from the CSRF check, not from the role check.
"""
import pytest

from tests.security.conftest import diff, rule_urls, signed_in, snapshot, token_of
from tests.security.matrix import CSRF_EXEMPT, ROLES, access_rule

# What a forger might send, besides nothing at all.
def _bad_tokens(other_sessions_token: str) -> dict[str, dict]:
    return {
        "no token": {"data": {}},
        "forged token": {"data": {"csrf_token": "forged"}},
        "another session's valid token": {"data": {"csrf_token": other_sessions_token}},
        "forged htmx header": {"headers": {"X-CSRFToken": "forged", "HX-Request": "true"}},
        "htmx header from another session": {"headers": {"X-CSRFToken": other_sessions_token,
                                                         "HX-Request": "true"}},
    }


def _post_routes(app, ids):
    return [(endpoint, url) for endpoint, method, url in rule_urls(app, ids)
            if method == "POST" and endpoint not in CSRF_EXEMPT]


def test_only_the_signed_link_is_exempt_and_a_bad_token_changes_nothing(app, ids):
    """The one route without CSRF takes a signed one-use token instead: a forged one is a
    404 and changes nothing (tests/review/test_referrals.py posts a genuine one)."""
    from helpline.extensions import csrf
    exempt = {e for e in app.view_functions
              if f"{app.view_functions[e].__module__}.{app.view_functions[e].__name__}"
              in csrf._exempt_views}
    assert exempt == CSRF_EXEMPT
    before = snapshot()
    anon = app.test_client()
    for token in ("none", "eyJyIjoxLCJ0IjoxfQ.forged.sig", ""):
        assert anon.post(f"/review/referrals/confirm/{token}x").status_code == 404
    assert diff(before, snapshot()) == {}


def _role_for(rule) -> str:
    """The narrowest role the route allows (administrators only where nothing else may)."""
    if rule == "public":
        return "anon"
    return next(r for r in ROLES if r in rule)


def test_every_post_route_is_in_the_list(app, ids):
    assert len(_post_routes(app, ids)) >= 40  # sanity: the URL map was read


@pytest.mark.parametrize("role", ("anon",) + ROLES)
def test_post_without_a_valid_csrf_token_is_refused_and_changes_nothing(app, ids, role):
    routes = [(e, u) for e, u in _post_routes(app, ids) if _role_for(access_rule(app, e)) == role]
    if not routes:
        pytest.skip(f"no POST route is for {role} first")
    client = signed_in(app, role, verified_contact_id=ids["contact_id"])
    other = signed_in(app, "admin")  # an attacker's own, valid, token
    stolen = token_of(other)
    before = snapshot()
    problems = []
    for endpoint, url in routes:
        for label, kw in _bad_tokens(stolen).items():
            data = {**kw.get("data", {}), "name": "x", "note": "x", "title": "x"}
            resp = client.post(url, data=data, headers=kw.get("headers", {}))
            body = resp.get_data(as_text=True)
            if resp.status_code != 400 or "CSRF" not in body:
                problems.append(f"{endpoint} {url} with {label}: {resp.status_code}")
    assert problems == []
    changed = diff(before, snapshot())
    assert changed == {}, f"a refused POST changed {changed}"
    if role != "anon":  # the user is still signed in: the refusal did not end the session
        assert client.get("/notifications").status_code == 200


def test_a_valid_token_is_accepted(app, ids, client):
    """The control: the same kind of post with the right token goes through."""
    admin = signed_in(app, "admin")
    token = token_of(admin, "/admin/lists/signpost_category")
    before = snapshot()
    resp = admin.post("/admin/lists/signpost_category/add",
                      data={"csrf_token": token, "name": "Pet food"})
    assert resp.status_code == 302
    assert "lookup_items" in diff(before, snapshot())
