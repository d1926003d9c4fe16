"""The training site (HELPLINE_MODE=training): practice scenarios from the seeds'
walkthroughs, the Scenarios page and `flask training-reset`. Nothing here runs live."""
from flask import Blueprint

bp = Blueprint("training", __name__, url_prefix="/training")

from . import views  # noqa: E402,F401
