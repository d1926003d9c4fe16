"""Call backs, reminders and queues."""
from flask import Blueprint

bp = Blueprint("callbacks", __name__, url_prefix="/callbacks")

from . import access, views  # noqa: E402,F401  (access answers the cases' signals)
