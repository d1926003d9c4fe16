"""Health checks for a load balancer or monitor: /healthz and /readyz."""
from flask import Blueprint

bp = Blueprint("main", __name__)

from . import views  # noqa: E402,F401
