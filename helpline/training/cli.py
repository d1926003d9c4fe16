"""`flask --app app training-reset`: the training site back to its practice scenarios."""
from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import select

from ..auth.models import User
from ..extensions import db
from ..rules import RuleError
from .scenarios import PRACTICE_ACCOUNTS, PRACTICE_PASSWORD, SCENARIOS, reset

REFUSED = ("training-reset refuses to run: this is not the training site. It wipes every "
           "record, so it only runs with HELPLINE_MODE=training (the training database).")


def register_training_cli(app: Flask) -> None:
    """Attach `training-reset` to the command line."""

    @app.cli.command("training-reset")
    @click.option("--if-empty", is_flag=True,
                  help="Only load the scenarios into a training database with no users yet")
    def training_reset_command(if_empty: bool) -> None:
        """Wipe the training database and load the practice scenarios again."""
        if not app.config.get("TRAINING"):
            raise click.ClickException(REFUSED)
        if if_empty and db.session.scalar(select(User.id).limit(1)):
            click.echo("The training database already has records; scenarios not reloaded "
                       "(run training-reset to start again).")
            return
        try:
            reset()
        except RuleError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from exc
        db.session.commit()
        click.echo(f"Training site reset: {len(SCENARIOS)} practice scenarios loaded.")
        click.echo(f"Practice sign-ins (password for all: {PRACTICE_PASSWORD}):")
        for role, email, _name in PRACTICE_ACCOUNTS:
            click.echo(f"  {role:<11} {email}")
