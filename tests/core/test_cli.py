"""create-user and seed-demo."""
from sqlalchemy import func, select

from helpline.auth.models import Team, User
from helpline.extensions import db
from helpline.lookups.models import LookupItem, offered


def test_create_user_then_sign_in(runner, auth):
    result = runner.invoke(args=["create-user", "Jess.Khan@example.org", "--name", "Jess Khan",
                                 "--role", "supervisor", "--password", "a-long-password",
                                 "--team", "Night Shift"])
    assert result.exit_code == 0, result.output
    assert "Created supervisor Jess Khan <jess.khan@example.org>" in result.output
    user = db.session.scalar(select(User).where(User.email == "jess.khan@example.org"))
    assert user.default_team.name == "Night Shift"
    assert auth.login("jess.khan@example.org", "a-long-password").status_code == 302


def test_create_user_refuses_a_duplicate(runner):
    args = ["create-user", "a@example.org", "--name", "A", "--role", "volunteer",
            "--password", "pear cactus violin"]
    assert runner.invoke(args=args).exit_code == 0
    result = runner.invoke(args=args)
    assert result.exit_code != 0
    assert "already exists" in result.output


def test_create_user_refuses_bad_input(runner):
    bad_role = runner.invoke(args=["create-user", "b@example.org", "--name", "B", "--role",
                                   "boss", "--password", "pear cactus violin"])
    assert bad_role.exit_code != 0
    short = runner.invoke(args=["create-user", "b@example.org", "--name", "B", "--role",
                                "volunteer", "--password", "short"])
    assert short.exit_code != 0 and "at least 12 characters" in short.output
    bad_email = runner.invoke(args=["create-user", "not-an-email", "--name", "B", "--role",
                                    "volunteer", "--password", "pear cactus violin"])
    assert bad_email.exit_code != 0 and "not an email address" in bad_email.output
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_seed_demo_is_idempotent_and_realistic(runner, auth):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "admin@example.org" in first.output and "helpline-demo" in first.output
    users = db.session.scalar(select(func.count(User.id)))
    items = db.session.scalar(select(func.count(LookupItem.id)))
    assert users >= 70
    from helpline.cases.models import Case
    from helpline.contacts.models import Contact
    contacts = db.session.scalar(select(func.count(Contact.id)))
    assert contacts >= 300 and db.session.scalar(select(func.count(Case.id))) >= 150
    assert db.session.scalar(select(func.count(Team.id))) >= 3
    from helpline.callbacks.models import CallBack
    from helpline.interactions.models import Interaction
    assert db.session.scalar(select(func.count(Interaction.id))) >= contacts
    angie = db.session.scalar(select(User).where(User.email.like("angie%")))
    assert db.session.scalar(select(func.count(CallBack.id)).where(
        CallBack.owner_id == angie.id)) >= 5  # the demo volunteer has call backs to make
    from helpline.cases import queues
    for name in ("mine", "assigned", "team", "sent-back"):  # and work in every case queue
        assert queues.count(db.session, angie, name) >= 2, name
    maggie = db.session.scalar(select(User).where(User.email == "maggie.evans@example.org"))
    assert queues.count(db.session, maggie, "awaiting-review") >= 10
    from helpline.review.referrals import waiting_count  # a referral no local team serves
    assert waiting_count(db.session) >= 1
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0
    assert db.session.scalar(select(func.count(User.id))) == users
    assert db.session.scalar(select(func.count(LookupItem.id))) == items
    assert db.session.scalar(select(func.count(Contact.id))) == contacts
    assert "Complaint about our response" in [i.name for i in offered("out_of_remit_reason")]
    for email in ("admin@example.org", "elliot.hunter@example.org", "maggie.evans@example.org"):
        assert auth.login(email, "helpline-demo").status_code == 302
        auth.logout()


def test_seed_demo_if_empty_skips_a_used_database(runner):
    runner.invoke(args=["create-user", "a@example.org", "--name", "A", "--role", "admin",
                        "--password", "pear cactus violin"])
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert "already has users" in result.output
    assert db.session.scalar(select(func.count(User.id))) == 1
