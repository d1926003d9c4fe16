"""Knowledge changes (articles, directory, local teams): audited, and never committed here."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select

from .. import audit
from ..auth.models import User
from ..contacts.postcodes import areas
from ..extensions import db
from ..lookups.services import checked_mailbox
from ..rules import RuleError
from ..timeutil import utcnow
from .models import Article, LocalTeam, LocalTeamRegion, Organisation


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


def regions() -> list[str]:
    """Every region of the postcode table, in order (what contacts' regions come from)."""
    return sorted({a.region for a in areas().values()})


def _check_team(team: LocalTeam | None, name: str, chosen: list[str]) -> None:
    if db.session.scalar(select(LocalTeam.id).where(
            func.lower(LocalTeam.name) == name.lower(),
            LocalTeam.id != (team.id if team else 0))):
        raise RuleError(f"There is already a local team called “{name}”", field="name")
    unknown = [r for r in chosen if r not in regions()]
    if unknown or not chosen:
        raise RuleError("Choose the region or regions the team serves from the list",
                        field="regions")


def _taken(team: LocalTeam | None, chosen: list[str]) -> None:
    """A region is served by one active team: say which one serves it already."""
    other = db.session.execute(
        select(LocalTeamRegion.region, LocalTeam.name).join(LocalTeam)
        .where(LocalTeamRegion.region.in_(chosen), LocalTeam.retired.is_(False),
               LocalTeam.id != (team.id if team else 0)).limit(1)).first()
    if other:
        raise RuleError(f"{other[0]} is already served by {other[1]}: change or retire that "
                        "team first", field="regions")


def save_local_team(team: LocalTeam | None, name: str, mailbox: str, chosen: list[str],
                    retired: bool, actor: User) -> LocalTeam:
    """Add a local team (team None) or change one: name, mailbox, regions, retired."""
    mailbox = checked_mailbox(mailbox)
    _check_team(team, name, chosen)
    if not retired:
        _taken(team, chosen)
    chosen = sorted(set(chosen))
    if team is None:
        team = LocalTeam(name=name, mailbox=mailbox, retired=retired,
                         regions=[LocalTeamRegion(region=r) for r in chosen])
        db.session.add(team)
        db.session.flush()
        audit.record(actor, "create", "local team", team.id, changes={
            "Name": (None, name), "Mailbox": (None, mailbox),
            "Regions served": (None, ", ".join(chosen)), "Retired": (None, retired)})
        return team
    changes = audit.diff(team, {"name": name, "mailbox": mailbox, "retired": retired})
    before = team.region_names
    if before != chosen:
        team.regions = [r for r in team.regions if r.region in chosen] + [
            LocalTeamRegion(region=r) for r in chosen if r not in before]
        changes["regions"] = (", ".join(before), ", ".join(chosen))
    labels = {"name": "Name", "mailbox": "Mailbox", "retired": "Retired",
              "regions": "Regions served"}
    audit.record(actor, "update", "local team", team.id,
                 changes={labels[k]: v for k, v in changes.items()})
    return team
