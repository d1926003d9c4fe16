"""Interactions (calls, emails, messages), handler picker, pings."""
from flask import Blueprint

bp = Blueprint("interactions", __name__, url_prefix="/interactions")

from . import saved, views  # noqa: E402,F401
