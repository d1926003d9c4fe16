"""Issue 14, point 1: a call back raised for a call-back request (no case) going overdue
never locks supervisors out; navigation badges are guarded COUNTs."""
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from helpline.callbacks import services
from helpline.callbacks.models import CallBack
from helpline.extensions import db
from helpline.callback_requests.models import CallBackRequest
from helpline.supervisor import morning_review as review
from helpline.timeutil import london_format, utcnow
from tests.conftest import AuthActions, csrf_token
from tests.factories import make_user


@pytest.fixture
def overdue_request(app, client, auth):
    """A request allocated to a caseworker, whose call back went overdue and was escalated."""
    leader = make_user("supervisor", name="Tess Leader", team="New Applications")
    worker = make_user("volunteer", name="Cara Worker", team="New Applications")
    req = CallBackRequest(full_name="Jane Doe", contact_number="07700 900321", nature="Other",
                          required_at=utcnow() + timedelta(hours=1), team_id=leader.default_team_id)
    db.session.add(req)
    db.session.commit()
    auth.login(leader.email)
    url = f"/callback-requests/{req.id}"
    resp = client.post(f"{url}/allocate", data={"csrf_token": csrf_token(client, url),
                                                "caseworker": str(worker.id)})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    cb = db.session.scalar(select(CallBack).where(CallBack.request_id == req.id))
    assert cb is not None and cb.case_id is None
    cb.end_at = utcnow() - timedelta(hours=1)  # the caseworker is an hour late
    db.session.commit()
    assert services.escalate_overdue("http://helpline") == 1
    return {"leader": leader, "worker": worker, "req": req, "cb": cb}


SUPERVISOR_PAGES = ["/", "/supervisor/", "/supervisor/dashboard", "/supervisor/calls",
                    "/callback-requests/", "/callbacks/", "/callbacks/overdue",
                    "/notifications"]


def test_supervisor_pages_load_and_morning_review_names_the_request(client, overdue_request):
    for path in SUPERVISOR_PAGES:
        assert client.get(path).status_code == 200, path
    assert client.get("/no-such-page").status_code == 404  # the error page too
    page = client.get("/supervisor/").get_data(as_text=True)
    req = overdue_request["req"]
    assert "Overdue call backs (1)" in page
    assert f"Call-back request {req.id} (Jane Doe) call back" in page
    assert 'id="review-count">' in page


def test_admin_pages_load_too(app, overdue_request):
    admin = make_user("admin", name="Ada Admin")
    other = app.test_client()
    AuthActions(other).login(admin.email)
    for path in SUPERVISOR_PAGES + ["/admin/", "/admin/users"]:
        assert other.get(path).status_code == 200, path


def test_the_request_call_back_is_described_by_its_request_everywhere(app, client,
                                                                    overdue_request):
    req, cb = overdue_request["req"], overdue_request["cb"]
    name = f"Call-back request {req.id} (Jane Doe)"
    assert name in client.get(f"/callbacks/{cb.id}").get_data(as_text=True)
    assert name in client.get("/callbacks/overdue").get_data(as_text=True)
    assert name in client.get("/notifications").get_data(as_text=True)  # the escalation
    services.fire_due(utcnow() + timedelta(days=1))
    worker = app.test_client()
    AuthActions(worker).login(overdue_request["worker"].email)
    page = worker.get("/").get_data(as_text=True)
    assert f"Call back due: {name}" in page and "Open request" in page


def test_the_badge_count_is_what_the_page_lists(client, overdue_request):
    leader = overdue_request["leader"]
    assert review.count(leader) == len(review.items(leader)) == 1
    url = "/supervisor/"
    key = f"callback:{overdue_request['cb'].id}:overdue"
    client.post(f"/supervisor/review/{key}", data={"csrf_token": csrf_token(client, url)})
    assert review.count(leader) == len(review.items(leader)) == 0


def test_a_failing_badge_is_logged_and_left_out(app, client, overdue_request, caplog):
    # A real failure: the table the Morning Review badge reads is missing for a moment.
    with db.engine.begin() as conn:
        conn.execute(text("ALTER TABLE review_marks RENAME TO review_marks_away"))
    try:
        resp = client.get("/callbacks/overdue")
        page = resp.get_data(as_text=True)
        assert resp.status_code == 200
        assert 'id="review-count"' not in page and "Morning Review" in page
        assert "Call-back request" in page  # the rest of the page is all there
        assert client.get("/no-such-page").status_code == 404
    finally:
        db.session.rollback()
        with db.engine.begin() as conn:
            conn.execute(text("ALTER TABLE review_marks_away RENAME TO review_marks"))
    assert "navigation badge 'morning_review_count' failed" in caplog.text
    assert 'id="review-count">' in client.get("/callbacks/overdue").get_data(as_text=True)
