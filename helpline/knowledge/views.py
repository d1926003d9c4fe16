"""Knowledge: search from the header (as you type), articles; admin editing; directory."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select

from ..auth.guard import admin_required, staff_required
from ..contacts.postcodes import areas
from ..extensions import db
from ..htmx import render
from ..lookups.models import offered
from ..numbers import whole_number
from ..rules import commit_change
from . import bp, services
from .forms import ArticleForm, OrganisationForm, RetireForm
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
    form = ArticleForm(obj=a)
    if form.validate_on_submit():
        values = {"title": form.title.data, "body": form.body.data,
                  "tags": form.tags.data or None, "retired": bool(form.retired.data)}
        saved = commit_change(services.save_article, a, values, current_user, form=form)
        if saved:
            assert saved.value is not None  # committed: save_article returned the article
            flash(f"Saved “{saved.value.title}”.", "success")
            return redirect(url_for("knowledge.edit"))
    articles = db.session.scalars(select(Article).order_by(Article.title)).all()
    return render_template("knowledge/edit.html", a=a, articles=articles, form=form), \
        (422 if form.errors else 200)


@bp.route("/admin/directory", methods=["GET", "POST"])
@admin_required
def directory_admin():
    """The directory of local organisations (admins add and retire)."""
    retire = RetireForm()
    if retire.retire.data and retire.validate_on_submit():
        org = db.get_or_404(Organisation, whole_number(retire.retire.data) or 0)
        commit_change(services.retire_organisation, org, current_user)
        return redirect(url_for("knowledge.directory_admin"))
    form = OrganisationForm()
    regions = sorted({a.region for a in areas().values()})
    form.region.choices = [("", "All regions")] + [(r, r) for r in regions]
    form.category_id.choices = [("", "Choose…")] + [
        (str(c.id), c.name) for c in offered("signpost_category")]
    if form.validate_on_submit():
        values = {key: form[key].data or None for key in (
            "region", "phone", "website", "opening_hours", "notes")}
        added = commit_change(services.add_organisation, {
            **values, "name": form.name.data, "category_id": int(form.category_id.data)},
            current_user, form=form)
        if added:
            flash(f"Added {form.name.data}.", "success")
            return redirect(url_for("knowledge.directory_admin"))
    orgs = db.session.scalars(select(Organisation).order_by(Organisation.name)).all()
    return render_template("knowledge/directory_admin.html", orgs=orgs, form=form,
                           retire_form=retire), (422 if form.errors else 200)


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
