"""Bulk dataset for `make bench`: scale 1 = 1M contacts and cases (common.load_cases), two
interactions each, a call back per five cases; the load test's volunteer.NNN accounts.
"""

import random
from datetime import timedelta

import common
from common import DOMAIN, VOLUNTEER_EMAIL, db, utcnow
from sqlalchemy import inspect

from helpline.auth.models import User
from helpline.auth.services import create_user, hash_password
from helpline.callbacks.models import ARMED, CLOSED, CallBack
from helpline.cases.models import Case
from helpline.contacts.models import Contact
from helpline.demo import TEAMS
from helpline.interactions.models import COUNTRIES, Interaction, InteractionHandler
from helpline.interactions.models import interaction_interventions as INTERVENTIONS

SEED = 20250101
FULL = {"contacts": 1_000_000, "cases": 1_000_000, "interactions": 2_000_000, "callbacks": 200_000}
TABLES = dict(common.CASE_TABLES, interaction=Interaction.__table__,
              handler=InteractionHandler.__table__, intervention=INTERVENTIONS,
              callback=CallBack.__table__)
INTERACTION_NOTES, CALLBACK_TEXT = (common.DATA[k] for k in ("interaction_notes", "callback_text"))


class ActivityGenerator:
    """Interactions (with handler rows) and call backs for generated cases."""

    def __init__(self, seed: int, handlers: list[tuple[int, int]], lists: dict,
                 volunteer_ids: list[int]) -> None:
        self.rng = random.Random(seed)
        self.handlers = handlers
        self.methods, self.states, self.interventions = (lists[k] for k in (
            "interaction_method", "call_state", "emergency_intervention"))
        self.owners = [h[0] for h in handlers] + volunteer_ids
        self.now = utcnow().replace(microsecond=0)

    def interactions(self, first_id: int, case: dict, n: int) -> dict[str, list[dict]]:
        """n interactions on a case, with one handler row each."""
        rng, out = self.rng, {"interaction": [], "handler": [], "intervention": []}
        for k in range(n):
            iid = first_id + k
            at = min(self.now, case["created_at"] + timedelta(minutes=rng.randint(0, 60 * 24 * 20)))
            user = case["owner_id"] if k == 0 else rng.choice(self.handlers)[0]
            out["interaction"].append(dict(
                id=iid, fully_anonymous=False, enquirer_id=case["caller_id"],
                enquirer_country=COUNTRIES[0] if rng.random() < 0.85 else rng.choice(COUNTRIES),
                interaction_date=at, method_id=(self.methods[0] if rng.random() < 0.8
                                                else rng.choice(self.methods)),
                direction="Inbound" if k == 0 or rng.random() < 0.5 else "Outbound",
                call_state_id=self.states[1], duration_mins=rng.randint(1, 45),
                case_id=case["id"], out_of_remit=False, out_of_remit_reason_id=None,
                community=rng.random() < 0.1, covid_related=rng.random() < 0.05,
                notes=rng.choice(INTERACTION_NOTES), call_back_required=rng.random() < 0.1,
                created_at=at, created_by_id=user))
            out["handler"].append(dict(interaction_id=iid, user_id=user, assigned_by_id=user,
                                       assigned_at=at))
            if rng.random() < 0.05:
                out["intervention"].append(dict(interaction_id=iid,
                                                item_id=rng.choice(self.interventions)))
        return out

    def callback(self, case: dict, phone: str | None) -> dict:
        """One call back: closed if the case is old, else open and armed days ahead."""
        rng = self.rng
        age_days = (self.now - case["created_at"]).total_seconds() / 86400
        open_ = age_days < 30 and rng.random() < 0.6
        if open_:
            start = self.now + timedelta(days=rng.randint(2, 30), minutes=rng.randint(0, 600))
        else:
            start = case["created_at"] + timedelta(days=rng.randint(1, 7))
        end = start + timedelta(hours=1)
        owner = rng.choice(self.owners) if open_ else case["owner_id"]
        return dict(
            case_id=case["id"], request_id=None, owner_id=owner, team_id=None,
            follows_case_owner=not open_, status="Open" if open_ else "Done",
            contact_number=phone or "07700 900000", description=rng.choice(CALLBACK_TEXT),
            call_received_at=case["created_at"], preferred_at=None, alarm=True, start_at=start,
            end_at=end, informal=rng.random() < 0.1, reminder_state=ARMED if open_ else CLOSED,
            remind_at=start - timedelta(minutes=5), snooze_total=0, escalated_at=None,
            closed_at=None if open_ else end, closed_by_id=None if open_ else owner,
            created_at=case["created_at"], created_by_id=case["owner_id"])


def load(want: dict[str, int], volunteers: int) -> dict:
    supervisor_id, handlers = common.make_people_and_lists()
    pw_hash = hash_password(common.BENCH_PASSWORD)
    ids = [create_user(VOLUNTEER_EMAIL.format(i + 1), f"Load Volunteer {i + 1:03d}", "volunteer",
                       "", team=TEAMS[i % len(TEAMS)], password_hash=pw_hash)
           for i in range(volunteers)]
    create_user("admin@" + DOMAIN, "Ada Admin", "admin", "", team=TEAMS[0], password_hash=pw_hash)
    create_user("data@" + DOMAIN, "Dana Data", "data", "", team=TEAMS[0], password_hash=pw_hash)
    db.session.commit()
    volunteer_ids = [u.id for u in ids]
    db.session.remove()
    activity = ActivityGenerator(SEED + 2, handlers, common.lookup_lists()[0], volunteer_ids)
    per_case = want["interactions"] / want["cases"]
    cb_every = want["cases"] / max(1, want["callbacks"])

    def more(i: int, contact: dict, out: dict[str, list[dict]]) -> None:
        case = out["case"][-1]
        # Spread interactions and call backs evenly: interaction ids stay dense.
        first = int((i - 1) * per_case) + 1
        for k, v in activity.interactions(first, case, int(i * per_case) - first + 1).items():
            out[k] += v
        if int(i / cb_every) != int((i - 1) / cb_every):
            out["callback"].append(activity.callback(case, contact.get("phone")))
    return common.load_cases(want["cases"], supervisor_id, handlers, SEED, 10_000, more, TABLES)


def existing_counts() -> dict[str, int] | None:
    """Row counts of the main tables if the schema is there (refuses a real database)."""
    common.check_ours()
    if not inspect(db.engine).has_table("call_backs"):
        return None
    out = {k: common.count(m) for k, m in (("contacts", Contact), ("cases", Case),
                                           ("interactions", Interaction), ("callbacks", CallBack))}
    out["volunteers"] = common.count(User, User.email.like("volunteer.%"))
    db.session.remove()
    return out


def prepare(url: str, scale: float, volunteers: int, keep: bool) -> dict:
    """Reuse (keep) or wipe, migrate and load; returns a summary dict (also for RESULTS.md)."""
    want = {k: max(1, round(v * scale)) for k, v in FULL.items()}
    with common.make_app(url).app_context():
        have = existing_counts()
        # reusable: the benchmarks run on it add rows (erasure subjects, the load test's cases):
        # up to 1% more (at least 1,000) still count
        if keep and have and have["volunteers"] >= volunteers and all(
                v <= have[k] <= v + max(1000, v // 100) for k, v in want.items()):
            print(f"# reusing {common.shown(url)} ({have}); migrating to the current head",
                  flush=True)
            common.migrate()
            summary = {"reused": True}
        else:
            common.wipe(common.sqlite_path(url))
            print(f"# generating scale {scale:g} into {common.shown(url)}: "
                  + ", ".join(f"{v:,} {k}" for k, v in want.items()), flush=True)
            common.migrate()
            summary = dict(load(want, volunteers), reused=False)
        facts = common.facts()
        summary.update(version=facts["version"], size_mb=facts["size"], have=existing_counts())
        db.engine.dispose()
    summary.update(url=common.shown(url), scale=scale, want=want)
    summary["markdown"] = markdown(summary)
    print(summary["markdown"])
    return summary


def markdown(ds: dict) -> str:
    have, counts = ds["have"], ds.get("counts", {})
    total = sum(counts.values())
    return "\n".join([
        f"{have['contacts']:,} contacts, {have['cases']:,} cases, {have['interactions']:,} "
        f"interactions, {have['callbacks']:,} call backs, {have['volunteers']} load-test "
        f"volunteers; {ds['size_mb']:,.0f} MB on disk.",
        f"Reused from an earlier run ({ds['url']})." if ds["reused"] else
        f"Generated {total:,} rows in {ds['seconds']:.0f} s: "
        f"{total / ds['insert_seconds']:,.0f} rows/s (generation in Python "
        f"{ds['generate_seconds']:.0f} s of it; ANALYZE {ds['analyze_seconds']:.0f} s). Rows: "
        + ", ".join(f"{k} {v:,}" for k, v in counts.items()) + "."])


def main() -> None:
    # --database-url: default common.bench_url (replaced); --keep: reuse it if it holds this scale
    args = common.options(__doc__, scale=1.0, database_url=None, volunteers=200, keep=False,
                          json=None)
    url = args.database_url or common.bench_url(args.scale)
    common.write_json(args.json, prepare(url, args.scale, args.volunteers, args.keep))
    print(f"DATABASE_URL={url}")


if __name__ == "__main__":
    main()
