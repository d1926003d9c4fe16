"""The Scenarios page: what a trainer says ("do scenario 3") and what the trainee does."""
from __future__ import annotations

from flask import abort, current_app, render_template
from flask_login import current_user

from .. import audit
from ..auth.guard import staff_required
from ..extensions import db
from . import bp
from .scenarios import PRACTICE_PASSWORD, SCENARIOS, TRAINEE_ACCOUNTS, records


@bp.get("/scenarios")
@staff_required
def scenarios():
    """Every numbered scenario with its caller, the situation to play and the steps. The
    live site has no such page (404 once signed in, like any unknown page)."""
    if not current_app.config.get("TRAINING"):
        abort(404)
    found = records()
    audit.viewed_list(current_user, "contact", [c for _e, _a, c in found.values() if c])
    db.session.commit()
    return render_template("training/scenarios.html", scenarios=SCENARIOS, found=found,
                           accounts=TRAINEE_ACCOUNTS, password=PRACTICE_PASSWORD)


@bp.app_context_processor
def practice_sign_ins() -> dict:
    """The trainees' practice accounts for the training sign-in page (nothing on the live
    site; never the trainer's administrator account)."""
    if not current_app.config.get("TRAINING"):
        return {}
    return {"training_accounts": TRAINEE_ACCOUNTS, "training_password": PRACTICE_PASSWORD}
