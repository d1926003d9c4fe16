"""Local Referrals after review: the data team's list of referrals awaiting a local team,
its Actioned / Declined / Send buttons, and the local team's one-use "actioned" link."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovTextInput
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from .. import audit
from ..auth.forms import EmptyForm
from ..auth.guard import data_team_required
from ..cases.models import Referral
from ..extensions import csrf, db
from ..lookups.forms import strip
from ..rules import commit_change
from . import bp
from . import referrals as routing


class DeclineForm(FlaskForm):
    """Decline a referral: the reason is required."""

    declined_reason = StringField("Reason declined", widget=GovTextInput(), filters=[strip],
                                  validators=[DataRequired(message="Enter why the referral was "
                                                                   "declined"),
                                              Length(max=1000, message="The reason must be "
                                                                       "1,000 characters or fewer")])


def _back(referral: Referral):
    """Back to where the button was: the waiting list, or the case's review page."""
    if request.form.get("back") == "waiting":
        return redirect(url_for("review.referrals_waiting"))
    return redirect(url_for("review.case", case_id=referral.case_id))


@bp.get("/referrals/waiting")
@data_team_required
def referrals_waiting():
    """Referrals no local team serves yet, oldest first (the data team passes them on)."""
    rows = [tuple(row) for row in db.session.execute(routing.waiting_query().limit(500))]
    audit.viewed_list(current_user, "case", sorted({c.reference for _r, c in rows}),
                      ip=request.remote_addr)
    db.session.commit()  # the list names the cases
    return render_template("review/referrals_waiting.html", rows=rows, form=EmptyForm(),
                           person_for=routing.person_for)


@bp.post("/referrals/<int:referral_id>/send")
@data_team_required
def referral_send(referral_id: int):
    """Try again to send a referral waiting for a local team (one may serve it now)."""
    referral = db.get_or_404(Referral, referral_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    done = commit_change(routing.send_waiting, referral, current_user)
    if not done:
        flash(done.message, "error")  # not waiting for a team, or the case not accepted
    elif done.value:
        flash(f"Sent to {referral.local_team}.", "success")
    else:
        flash(f"No local team serves {routing.person_for(routing.referral_case(referral)).region}"
              " yet: add one under Admin → Local teams.", "error")
    return _back(referral)


@bp.post("/referrals/<int:referral_id>/actioned")
@data_team_required
def referral_actioned(referral_id: int):
    """The data team marks a referral Actioned (audited)."""
    referral = db.get_or_404(Referral, referral_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    done = commit_change(routing.mark_actioned, referral, current_user, "Marked by the data team")
    flash(f"{referral.response_type.name} referral marked Actioned." if done else done.message,
          "success" if done else "error")
    return _back(referral)


@bp.post("/referrals/<int:referral_id>/decline")
@data_team_required
def referral_decline(referral_id: int):
    """The data team declines a referral, with the reason (audited)."""
    referral = db.get_or_404(Referral, referral_id)
    form = DeclineForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        flash(form.declined_reason.errors[0], "error")
        return _back(referral)
    done = commit_change(routing.decline, referral, form.declined_reason.data or "",
                         current_user)
    flash(f"{referral.response_type.name} referral declined." if done else done.message,
          "success" if done else "error")
    return _back(referral)


@bp.route("/referrals/confirm/<token>", methods=["GET", "POST"])
@csrf.exempt  # no sign-in and no session: the signed one-use token is the credential
def referral_confirm(token: str):
    """The local team's link: a GET shows what it confirms, the POST marks it Actioned.
    A wrong, altered, expired or used token is a 404 and records nothing."""
    referral = routing.referral_for_token(token)
    if referral is None:
        abort(404)
    case = routing.referral_case(referral)
    if request.method == "POST":
        team = referral.local_team
        done = commit_change(routing.mark_actioned, referral, None,
                             f"Confirmed by {team} with the link in its mail")
        if not done:  # used (or declined) at the same moment: as a used link
            abort(404)
        return render_template("review/referral_confirmed.html", referral=referral, case=case)
    return render_template("review/referral_confirm.html", referral=referral, case=case)
