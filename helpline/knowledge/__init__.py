"""Knowledge search and the local organisations directory."""
from flask import Blueprint

bp = Blueprint("knowledge", __name__)

from . import local_team_views, views  # noqa: E402,F401
