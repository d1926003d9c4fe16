"""A worker killed with -9 in the middle of sending a mail.

What a user would notice: nothing lost, nothing doubled. The colleague still gets the
assignment email, exactly once, a little later (the next worker's sweeper takes over the
send the dead worker had claimed once that claim is stale; MAIL_STALE_CLAIM_SECONDS, five
minutes by default, is shortened here).
"""
from __future__ import annotations

import socket
import threading

from sqlalchemy import func, select

from helpline.extensions import db
from helpline.mailer import OutboxMail, queue_mail
from tests.conftest import wait_until
from tests.faults.helpers import WorkerProcess, mails

SUBJECT = "You have been assigned to the Helpline Interaction INT39001"


class StallingSMTP:
    """A real SMTP listener that takes the whole message and then never says 250.

    `receiving` is set once a message's DATA has arrived: the sender is now waiting for
    the server's answer, i.e. in the middle of the send.
    """

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.receiving = threading.Event()
        self.release = threading.Event()
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rwb") as f:
            def reply(line: str) -> None:
                f.write(line.encode() + b"\r\n")
                f.flush()
            try:
                reply("220 stall.test ESMTP")
                for raw in f:
                    verb = raw[:4].upper()
                    if verb in (b"EHLO", b"HELO"):
                        reply("250 stall.test")
                    elif verb == b"DATA":
                        reply("354 End data with <CR><LF>.<CR><LF>")
                        for line in f:
                            if line == b".\r\n":
                                break
                        self.receiving.set()
                        self.release.wait(60)  # hold the answer: the sender hangs here
                        return
                    elif verb == b"QUIT":
                        reply("221 bye")
                        return
                    else:
                        reply("250 OK")
            except OSError:  # the sender was killed
                return

    def close(self) -> None:
        self.release.set()
        self.sock.close()


def test_a_worker_killed_mid_send_is_replaced_and_the_mail_goes_once(app, smtp, tmp_path):
    stall = StallingSMTP()
    first = WorkerProcess(app, tmp_path / "worker1.log", MAIL_PORT=stall.port)
    second = None
    try:
        row = queue_mail("angie@example.org", SUBJECT, "Dear Angie,\n\nYou have been assigned.",
                         key="interaction-assign-1")
        db.session.commit()  # enqueued after the commit; the first worker takes it
        wait_until(stall.receiving.is_set, timeout=20,
                   message="the first worker never reached the SMTP DATA phase")
        db.session.expire_all()
        assert db.session.get(OutboxMail, row.id).status == "sending"

        first.kill()  # kill -9 mid-send: the outbox row stays claimed by a dead worker

        second = WorkerProcess(app, tmp_path / "worker2.log", MAIL_PORT=smtp["port"],
                               MAIL_STALE_CLAIM_SECONDS=1, MAIL_SWEEP_SECONDS=0.2)
        wait_until(lambda: mails(smtp, subject=SUBJECT), timeout=20,
                   message="the mail was never sent after the worker died")

        def sent():
            db.session.expire_all()
            return db.session.get(OutboxMail, row.id).status == "sent"
        wait_until(sent, timeout=10, message="the outbox row was not marked sent")
        second.stop()
        delivered = mails(smtp, subject=SUBJECT)
        assert len(delivered) == 1, "sent twice"
        assert delivered[0]["to"] == "angie@example.org"
        assert delivered[0]["message_id"] == "<interaction-assign-1@helpline>"
        assert db.session.scalar(select(func.count(OutboxMail.id))) == 1  # no row lost/added
        assert db.session.get(OutboxMail, row.id).attempts == 2  # the killed try + the rerun
        assert stall.connections == 1  # the dead worker's send was never retried there
    except AssertionError:
        print("worker 1 log:\n", first.log())
        if second:
            print("worker 2 log:\n", second.log())
        raise
    finally:
        first.stop()
        if second:
            second.stop()
        stall.close()
