"""Every download of the training site says TRAINING (review finding M4): the dashboard
CSV and the subject-access pack, not only the review exports. The live ones do not."""
from __future__ import annotations

import csv
import io
import zipfile

from tests.conftest import AuthActions, csrf_token
from tests.contacts.helpers import make_contact
from tests.factories import make_user


def test_the_dashboard_csv_of_the_training_site_is_marked(app, client, training_client):
    supervisor = make_user("supervisor")
    for test_client in (training_client, client):
        AuthActions(test_client).login(supervisor.email)
    resp = training_client.get("/supervisor/dashboard.csv")
    assert "filename=TRAINING-dashboard.csv" in resp.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    assert rows[0][0].startswith("TRAINING") and rows[1][0] == "Period"
    live = client.get("/supervisor/dashboard.csv")
    assert "TRAINING" not in live.headers["Content-Disposition"]
    assert live.get_data(as_text=True).startswith("Period")


def _pack(test_client, contact_id: int):
    path = f"/review/subject-access/{contact_id}"
    resp = test_client.post(path, data={"csrf_token": csrf_token(test_client, path)})
    assert resp.status_code == 200
    return resp


def test_the_subject_access_pack_of_the_training_site_is_marked(
        app, client, training_client):
    data = make_user("data")
    contact = make_contact(make_user("volunteer"), first_name="Grace", last_name="Adebayo")
    for test_client in (training_client, client):
        AuthActions(test_client).login(data.email)
    resp = _pack(training_client, contact.id)
    assert f"TRAINING-subject-access-contact-{contact.id}.zip" in \
        resp.headers["Content-Disposition"]
    readme = zipfile.ZipFile(io.BytesIO(resp.get_data())).read("README.txt").decode()
    assert readme.startswith("TRAINING — practice data only")
    live = _pack(client, contact.id)
    assert "TRAINING" not in live.headers["Content-Disposition"]
    assert "TRAINING" not in zipfile.ZipFile(io.BytesIO(live.get_data())).read(
        "README.txt").decode()
