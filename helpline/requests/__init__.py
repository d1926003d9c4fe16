"""Call-back requests (the "small system")."""
from flask import Blueprint

bp = Blueprint("requests", __name__, url_prefix="/callback-requests")

from . import views  # noqa: E402,F401
from . import downtime_views, unique_views  # noqa: E402,F401
