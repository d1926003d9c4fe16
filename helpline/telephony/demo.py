"""`flask --app app telephony demo-calls` (`make demo-calls`): while `make run` runs, a demo
call from a stored contact's number rings every couple of minutes (for everyone signed in)
and is missed or answered, so a new user sees the panel and the Missed calls list."""
from __future__ import annotations

import itertools
import random
import time

import click
from flask import current_app, url_for
from sqlalchemy import select

from ..auth.models import User
from ..contacts.models import Contact
from ..extensions import db
from . import bp, pbx, services


def _play(fields: dict) -> str:
    try:
        status, message = pbx.handle(pbx.parse(fields))
    except pbx.BadEvent as exc:
        db.session.rollback()
        return f"{exc.status} {exc}"
    db.session.commit()  # the wake-up is published to the web process through Redis
    return f"{status} {message}"


@bp.cli.command("demo-calls")
@click.option("--every", default=120, help="seconds between calls")
@click.option("--count", default=0, help="how many calls (0: until Ctrl-C)")
@click.option("--ring", default=20, help="seconds a call rings before it is missed or ends")
def demo_calls(every: int, count: int, ring: int) -> None:
    """Ring a demo call every --every seconds; prints the phone system's endpoint first."""
    if current_app.config.get("PRODUCTION"):  # it rotates the live token and rings staff
        raise click.ClickException("demo-calls is for a demo or development site: this is "
                                   "production (HELPLINE_ENV=production)")
    admin = db.session.scalar(select(User).where(User.role == "admin").limit(1))
    if admin is None:
        raise click.ClickException("No administrator: run `make seed` first")
    token = services.rotate_token(admin)
    db.session.commit()
    with current_app.test_request_context():
        endpoint = current_app.config["BASE_URL"] + url_for("telephony.event", token=token)
    click.echo(f"Phone system endpoint (new token): {endpoint}\n"
               f"  e.g. python tools/pbx.py {endpoint} --calls 20 --speed 10\n"
               f"A demo call rings every {every} s for everyone signed in (Ctrl-C stops).")
    numbers = [p for p in db.session.scalars(select(Contact.phone).where(
        Contact.phone.is_not(None), Contact.active.is_(True)).limit(20)) if p] or ["07700 900123"]
    rng = random.Random()
    for n in itertools.count(1):
        number = rng.choice(numbers + ["anonymous"])
        ref = f"demo-{int(time.time())}-{n}"
        base = {"from": number, "to": "01632960000", "direction": "in", "callId": ref}
        click.echo(f"newCall {number}: {_play({**base, 'event': 'newCall'})}")
        time.sleep(ring)
        click.echo(f"hangup  {number}: {_play({**base, 'event': 'hangup', 'cause': 'noAnswer'})}")
        if count and n >= count:
            break
        time.sleep(max(0, every - ring))
