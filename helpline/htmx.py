"""htmx helpers: decide page or fragment by the HX-Request header."""
from __future__ import annotations

from flask import make_response, render_template, request
from werkzeug.wrappers import Response


def is_htmx() -> bool:
    """True for an htmx request that wants a fragment (boosted requests want pages)."""
    return (request.headers.get("HX-Request") == "true"
            and request.headers.get("HX-Boosted") != "true")


def render(page_template: str, fragment_template: str, /, status: int = 200,
           **context) -> Response:
    """Render the fragment for htmx and the full page otherwise, with Vary: HX-Request.
    (The templates are positional-only, so a context variable may be called `page`.)"""
    resp = make_response(render_template(fragment_template if is_htmx() else page_template,
                                         **context), status)
    resp.vary.add("HX-Request")
    return resp
