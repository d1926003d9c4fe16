"""Break finding (older than issue 19): the new-contact form prefilled from any call-back
request, also another team's that the volunteer may not open (and saving linked it)."""
from helpline.callback_requests.models import CallBackRequest
from helpline.extensions import db
from tests.cases.helpers import seed_lists
from tests.factories import make_user


def test_new_contact_from_another_teams_request_is_refused(app, client, auth):
    seed_lists()
    other = make_user("volunteer", team="Night Shift")
    req = CallBackRequest(full_name="Secret Caller", contact_number="07700 900999",
                          nature="Other", anytime=True, team_id=other.default_team_id)
    db.session.add(req)
    db.session.commit()
    me = make_user("volunteer", team="Information Officers")
    auth.login(me.email)
    assert client.get(f"/callback-requests/{req.id}").status_code == 403  # may_see refuses
    page = client.get(f"/contacts/new?from_request={req.id}")
    assert page.status_code == 403
    assert "07700 900999" not in page.get_data(as_text=True)
    assert "another team" in page.get_data(as_text=True)
