"""Data team: review queue, exports, data-protection tools."""
from flask import Blueprint

bp = Blueprint("review", __name__, url_prefix="/review")

from . import referral_views, views  # noqa: E402,F401
