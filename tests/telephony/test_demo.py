"""`make demo-calls`: prints a working endpoint and rings a demo call that is then missed."""
import re

from sqlalchemy import select

from helpline.extensions import db
from helpline.telephony.models import Call
from tests.contacts.helpers import make_contact
from tests.factories import make_user
from tests.telephony.helpers import ring


def test_demo_calls_print_the_endpoint_and_ring_a_stored_contacts_number(app, client, runner):
    admin = make_user("admin")
    jane = make_contact(admin, first_name="Jane", last_name="Smith", phone="07700 900123")
    result = runner.invoke(args=["telephony", "demo-calls", "--count", "1", "--ring", "0",
                                 "--every", "0"])
    assert result.exit_code == 0, result.output
    token = re.search(r"/telephony/([A-Za-z0-9_-]{40,})", result.output).group(1)
    db.session.expire_all()
    call = db.session.scalars(select(Call)).one()
    assert call.missed and (call.withheld or [c.id for c in call.contacts] == [jane.id])
    assert ring(client, token, call_id="after-demo").status_code == 201
