"""Administration: users, sent mail, failed jobs."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import lists, settings, system, teams, users, views  # noqa: E402,F401
