"""Flask extensions, created unbound and bound in the app factory."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from flask_compress import Compress
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import CursorResult, MetaData, Result, Table
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session
from wtforms import Field

# Named constraints so Alembic can drop them (batch mode on SQLite).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)

if TYPE_CHECKING:
    from flask_sqlalchemy.model import Model as _FlaskModel

    class Model(_FlaskModel, Base):
        """What db.Model is at run time (Base's body under Flask-SQLAlchemy's mixins), in
        a form a type checker can follow: it cannot see through `class X(db.Model)`."""

        __abstract__ = True
else:
    Model = db.Model
# A plain Session or db.session (the scoped_session proxy): functions that take either.
AnySession = Session | scoped_session[Any]

migrate = Migrate(render_as_batch=True, compare_type=True)
login_manager = LoginManager()
csrf = CSRFProtect()
mail = Mail()
compress = Compress()


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE matched. Session.execute types every result as Result; for
    those statements it is a CursorResult, which has the count."""
    return cast(CursorResult[Any], result).rowcount


def table_of(model: type[Base] | type[Model]) -> Table:
    """A mapped class's table (its __table__, which SQLAlchemy types as a FromClause)."""
    return cast(Table, model.__table__)


def add_error(field: Field, message: str) -> None:
    """Add a message to a field of a form that has been validated. WTForms types
    Field.errors as a sequence; after validate() it is the list the template shows."""
    cast(list[str], field.errors).append(message)


def commit_keeping_loaded() -> None:
    """Commit, keeping what the request has already read loaded (no reload afterwards).

    For a page whose only write is its audit entry ("who looked at this record"),
    committed before the page is rendered: the rows it has read stay as they were read
    in this transaction instead of being expired and read again one by one. Anything not
    loaded yet is read afresh, as before."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True
