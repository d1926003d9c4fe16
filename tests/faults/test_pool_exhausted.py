"""Every database connection busy (a process starved of CPU under load): the user gets the
service's error page with its request id, not a bare crash of the error page itself
(scale-out run finding: the 500 page failed on `current_user`)."""
from __future__ import annotations

from helpline import create_app
from helpline.extensions import db
from tests.conftest import csrf_token
from tests.factories import PASSWORD, make_user


def test_no_free_connection_gives_the_error_page(app):
    user = make_user("volunteer")
    starved = create_app({**app.config, "TESTING": False, "SQLALCHEMY_ENGINE_OPTIONS": {
        "pool_size": 1, "max_overflow": 0, "pool_timeout": 0.2}})
    client = starved.test_client()
    client.post("/login", data={"csrf_token": csrf_token(client, "/login"),
                                "email": user.email, "password": PASSWORD})
    assert client.get("/").status_code == 200
    with starved.app_context():
        held = db.engine.connect()  # the only connection, as a long request would hold it
        try:
            resp = client.get("/")
        finally:
            held.close()
        db.engine.dispose()
    page = resp.get_data(as_text=True)
    assert resp.status_code == 500
    assert "Sorry, there is a problem with the service" in page
    assert resp.headers["X-Request-Id"] in page
    assert client.get("/").status_code == 200  # and the next request is served as usual
