"""Knowledge changes (articles, directory): audited, and never committed here."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import audit
from ..auth.models import User
from ..extensions import db
from ..timeutil import utcnow
from .models import Article, Organisation


def save_article(article: Article | None, values: Mapping[str, Any], actor: User) -> Article:
    """Write a new article (article None) or change one; the audit leaves out the time."""
    values = {**values, "updated_at": utcnow()}
    if article is None:
        article = Article(author_id=actor.id, **values)
        db.session.add(article)
        db.session.flush()
        audit.record(actor, "create", "article", article.id,
                     changes={"Title": (None, article.title)})
    else:
        changes = audit.diff(article, values)
        changes.pop("updated_at", None)
        audit.record(actor, "update", "article", article.id, changes=changes)
    return article


def add_organisation(values: Mapping[str, Any], actor: User) -> Organisation:
    """Add a local organisation to the directory."""
    org = Organisation(**values)
    db.session.add(org)
    db.session.flush()
    audit.record(actor, "create", "organisation", org.id, changes={"Name": (None, org.name)})
    return org


def retire_organisation(org: Organisation, actor: User) -> None:
    """Stop offering an organisation (it stays on record)."""
    org.retired = True
    audit.record(actor, "update", "organisation", org.id, changes={"Retired": (False, True)})
