"""Telephony screen-pop: the PBX's call events (Zammad generic CTI), the call log, the
incoming-call panel on staff pages and the Missed calls list."""
from flask import Blueprint

bp = Blueprint("telephony", __name__, url_prefix="/telephony")

from . import demo, views  # noqa: E402,F401
