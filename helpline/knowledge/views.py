"""Knowledge: search from the header (as you type), articles; admin editing; directory."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select

from .. import audit
from ..auth.forms import EmptyForm
from ..auth.guard import admin_required, staff_required
from ..extensions import db
from ..htmx import render
from ..lookups.models import offered
from ..timeutil import utcnow
from . import bp
from .models import Article, Organisation


def search_articles(q: str, limit: int = 20) -> list[Article]:
    """Articles whose title, tags or body contain every word typed."""
    stmt = select(Article).where(Article.retired.is_(False))
    for word in (q or "").lower().split()[:6]:
        like = f"%{word}%"
        stmt = stmt.where(or_(func.lower(Article.title).like(like),
                              func.lower(Article.tags).like(like),
                              func.lower(Article.body).like(like)))
    return list(db.session.scalars(stmt.order_by(Article.title).limit(limit)))


@bp.get("/knowledge/")
@staff_required
def index():
    """Knowledge search (a full page without JavaScript, the results fragment with htmx)."""
    q = request.args.get("kq", "")[:200]
    found = search_articles(q) if q.strip() else search_articles("", 50)
    return render("knowledge/index.html", "knowledge/_results.html", q=q, found=found)


@bp.get("/knowledge/<int:article_id>")
@staff_required
def article(article_id: int):
    """One article."""
    a = db.session.get(Article, article_id)
    if a is None or a.retired:
        abort(404)
    return render_template("knowledge/article.html", a=a)


@bp.route("/admin/knowledge", methods=["GET", "POST"])
@bp.route("/admin/knowledge/<int:article_id>", methods=["GET", "POST"])
@admin_required
def edit(article_id: int | None = None):
    """Write or edit an article (admins)."""
    a = db.get_or_404(Article, article_id) if article_id else None
    error = None
    if request.method == "POST" and EmptyForm().validate_on_submit():
        f = request.form
        title, body = (f.get("title") or "").strip(), (f.get("body") or "").strip()
        if not title or not body:
            error = "Enter a title and the article text"
        else:
            values = {"title": title, "body": body, "tags": (f.get("tags") or "").strip() or None,
                      "retired": bool(f.get("retired")), "updated_at": utcnow()}
            if a is None:
                a = Article(author_id=current_user.id, **values)
                db.session.add(a)
                db.session.flush()
                audit.record(current_user, "create", "article", a.id, changes={"Title": (None, title)})
            else:
                changes = audit.diff(a, values)
                changes.pop("updated_at", None)
                audit.record(current_user, "update", "article", a.id, changes=changes)
            db.session.commit()
            flash(f"Saved “{title}”.", "success")
            return redirect(url_for("knowledge.edit"))
    articles = db.session.scalars(select(Article).order_by(Article.title)).all()
    return render_template("knowledge/edit.html", a=a, articles=articles, form=EmptyForm(),
                           error=error), (422 if error else 200)


@bp.route("/admin/directory", methods=["GET", "POST"])
@admin_required
def directory_admin():
    """The directory of local organisations (admins add and retire)."""
    error = None
    if request.method == "POST" and EmptyForm().validate_on_submit():
        f = request.form
        if f.get("retire"):
            org = db.get_or_404(Organisation, f.get("retire", type=int))
            org.retired = True
            audit.record(current_user, "update", "organisation", org.id,
                         changes={"Retired": (False, True)})
            db.session.commit()
            return redirect(url_for("knowledge.directory_admin"))
        name, category = (f.get("name") or "").strip(), f.get("category_id", type=int)
        too_long = [label for key, label, n in (
            ("name", "Name", 200), ("region", "Region", 40), ("phone", "Phone", 40),
            ("website", "Website", 300), ("opening_hours", "Opening hours", 200))
            if len(f.get(key) or "") > n]
        if not name or category not in {c.id for c in offered("signpost_category")}:
            error = "Enter the organisation's name and choose its signpost category"
        elif too_long:
            error = f"{too_long[0]} is too long"
        else:
            org = Organisation(name=name, category_id=category, region=f.get("region") or None,
                               phone=f.get("phone") or None, website=f.get("website") or None,
                               opening_hours=f.get("opening_hours") or None,
                               notes=f.get("notes") or None)
            db.session.add(org)
            db.session.flush()
            audit.record(current_user, "create", "organisation", org.id,
                         changes={"Name": (None, name)})
            db.session.commit()
            flash(f"Added {name}.", "success")
            return redirect(url_for("knowledge.directory_admin"))
    orgs = db.session.scalars(select(Organisation).order_by(Organisation.name)).all()
    from ..contacts.postcodes import areas
    regions = sorted({a.region for a in areas().values()})
    return render_template("knowledge/directory_admin.html", orgs=orgs, regions=regions,
                           categories=offered("signpost_category"), form=EmptyForm(),
                           error=error), (422 if error else 200)


@bp.get("/directory")
@staff_required
def directory():
    """Local organisations for a signpost category, in the beneficiary's region first.

    The case screen's "Find local organisations" link sends its row's select as
    `signposts-<n>-category`; the directory page's own form sends `category`."""
    category = request.args.get("category", type=int) or next(
        (request.args.get(k, type=int) for k in request.args
         if k.startswith("signposts-") and k.endswith("-category")), None)
    region = request.args.get("region", "")
    q = request.args.get("q", "").strip().lower()
    stmt = select(Organisation).where(Organisation.retired.is_(False))
    if category:
        stmt = stmt.where(Organisation.category_id == category)
    if region:
        stmt = stmt.where(or_(Organisation.region == region, Organisation.region.is_(None)))
    if q:
        stmt = stmt.where(func.lower(Organisation.name).like(f"%{q}%"))
    orgs = db.session.scalars(stmt.order_by(Organisation.region.is_(None), Organisation.name)
                              .limit(20)).all()
    return render("knowledge/directory.html", "knowledge/_directory.html", orgs=orgs,
                  region=region, q=q, categories=offered("signpost_category"), category=category)
