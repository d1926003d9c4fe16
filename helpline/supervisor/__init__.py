"""Supervisors: the Morning Review."""
from flask import Blueprint

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")

from . import dashboard, flagging, views  # noqa: E402,F401
