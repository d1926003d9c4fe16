"""The route × role matrix helper: every route must declare who may use it."""
from __future__ import annotations

from flask import Flask

# The sign-in steps (code, temporary password, second-factor set-up) open only for a
# session half way through signing in; for anyone else they redirect.
PUBLIC = {"auth.login", "auth.two_factor", "auth.password_required", "auth.two_factor_setup",
          "main.healthz", "main.readyz", "static", "review.referral_confirm",
          "telephony.event"}
ROLES = ("volunteer", "supervisor", "data", "admin")
# Routes without CSRF: the local team's one-use link (no sign-in, no session; the signed
# token in its URL is the credential, and a wrong or used one is a 404 that records nothing).
# The phone system's endpoint (telephony): the long random token in its URL is the
# credential; a wrong one is a 404 that records nothing.
CSRF_EXEMPT = {"review.referral_confirm", "telephony.event"}


def access_rule(app: Flask, endpoint: str):
    """The roles a route allows ("public" for the few open ones), or None if it has no rule."""
    if endpoint in PUBLIC:
        return "public"
    return getattr(app.view_functions[endpoint], "allowed_roles", None)


def missing_rules(app: Flask) -> list[str]:
    """Endpoints with no access rule: a new route must declare one."""
    return sorted({r.endpoint for r in app.url_map.iter_rules()
                   if access_rule(app, r.endpoint) is None})


def allowed(rule, role: str) -> bool:
    """Whether `role` may use a route with this rule (administrators hold every role)."""
    return rule == "public" or role == "admin" or role in rule
