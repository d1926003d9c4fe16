"""Command-line tools: create-user, seed-demo."""
from __future__ import annotations

import click
from flask import Flask

from .admin.staff_import import register_import_cli
from .auth.models import User
from .auth.services import create_user
from .backup import register_backup_cli
from .demo import DEMO_PASSWORD, seed
from .extensions import db
from .review import retention
from .rules import RuleError
from .setup import setup
from .training.cli import register_training_cli


def register_cli(app: Flask) -> None:
    """Attach the commands to `flask --app app ...`."""
    register_retention(app)
    register_setup(app)
    register_backup_cli(app)
    register_import_cli(app)
    register_training_cli(app)

    @app.cli.command("create-user")
    @click.argument("email")
    @click.option("--name", required=True, help="Full name")
    @click.option("--role", required=True,
                  type=click.Choice(["volunteer", "supervisor", "data", "admin"]))
    @click.option("--password", required=True)
    @click.option("--team", default=None, help="Team name (created if new)")
    def create_user_command(email: str, name: str, role: str, password: str,
                            team: str | None) -> None:
        """Create a user who can sign in."""
        try:
            user = create_user(email, name, role, password, team=team)
        except RuleError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from exc
        db.session.commit()
        click.echo(f"Created {user.role} {user.name} <{user.email}>")

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Only seed a database with no users yet")
    def seed_demo_command(if_empty: bool) -> None:
        """Load demo users, teams and lookup lists (safe to run again)."""
        from sqlalchemy import select
        if app.config.get("PRODUCTION"):
            raise click.ClickException(
                "seed-demo refuses to run with HELPLINE_ENV=production: it creates demo "
                "users with a published password. Use `flask --app app setup` instead.")

        if if_empty and db.session.scalar(select(User.id).limit(1)):
            click.echo("The database already has users; demo data not loaded.")
            return
        logins = seed()
        db.session.commit()
        click.echo("Demo sign-ins (password for all: %s):" % DEMO_PASSWORD)
        for role, email in logins:
            click.echo(f"  {role:<11} {email}")


def register_setup(app: Flask) -> None:
    """`flask setup`: the reference lists and the first administrator, no demo users."""

    @app.cli.command("setup")
    @click.option("--admin-email", prompt="Email of the first administrator")
    @click.option("--admin-name", prompt="Their full name")
    @click.option("--admin-password", prompt="Their password (at least 12 characters)",
                  hide_input=True, confirmation_prompt=True)
    def setup_command(admin_email: str, admin_name: str, admin_password: str) -> None:
        """Create the lookup lists (from the seeds' values) and the first administrator."""
        
        try:
            admin, created = setup(admin_email, admin_name, admin_password,
                                   app.config["PASSWORD_MIN_LENGTH"])
        except RuleError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from exc
        db.session.commit()
        click.echo(f"Reference lists: {created} item(s) added.")
        click.echo(f"Administrator {admin.name} <{admin.email}> created. At first sign-in "
                   "they set up an authenticator app (second factor).")


def register_retention(app: Flask) -> None:
    """`flask retention [--dry-run]`: erase contacts and unlinked call-back requests
    inactive for RETENTION_YEARS; --dry-run lists them (counts and ids) and changes nothing."""

    @app.cli.command("retention")
    @click.option("--dry-run", is_flag=True, help="List what would be erased; change nothing")
    def retention_command(dry_run: bool) -> None:
        if app.config.get("TRAINING"):
            raise click.ClickException("Retention is disabled on the training site: its "
                                       "practice records are never erased by age.")
        report = retention.run(app.config["RETENTION_YEARS"], dry_run=dry_run)
        click.echo(report.describe())
