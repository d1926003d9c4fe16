"""Contacts: Active Contacts home, search, new/edit with consent, verification."""
from flask import Blueprint

bp = Blueprint("contacts", __name__)

from . import views  # noqa: E402,F401
