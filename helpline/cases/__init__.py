"""Cases: caller and beneficiary, notes, signposts, referrals, review, service desk."""
from flask import Blueprint

bp = Blueprint("cases", __name__, url_prefix="/cases")

from . import access, queue_views, service_desk_views, views  # noqa: E402,F401
