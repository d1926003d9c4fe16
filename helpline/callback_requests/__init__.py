"""Call-back requests (the "small system")."""
from flask import Blueprint

bp = Blueprint("requests", __name__, url_prefix="/callback-requests")

from . import (  # noqa: E402,F401
    downtime_views,
    unique_views,
    views,  # noqa: E402,F401
)
