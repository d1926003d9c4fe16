"""The local mail catcher: a real SMTP server that keeps every message in a Maildir.

Started by `make run` when MAIL_SERVER is not configured; the admin "Sent mail" page
reads the same Maildir. Run alone with: python -m helpline.catcher --port 8025 --dir DIR
"""
from __future__ import annotations

import argparse
import mailbox
import signal
import threading
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller


class MaildirHandler:
    """aiosmtpd handler storing each accepted message in a Maildir."""

    def __init__(self, directory: str | Path) -> None:
        self.box = mailbox.Maildir(str(directory), create=True)
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd API)
        msg = message_from_bytes(envelope.original_content or envelope.content,
                                 policy=policy.default)
        if "X-Envelope-To" not in msg:
            msg["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        with self._lock:
            self.box.add(msg)
        return "250 Message accepted for delivery"


def start(directory: str | Path, port: int, host: str = "127.0.0.1") -> Controller:
    """Start a catcher in a background thread; returns its controller (call .stop())."""
    controller = Controller(MaildirHandler(directory), hostname=host, port=port)
    controller.start()
    return controller


def read_messages(directory: str | Path) -> list[dict]:
    """Messages in the catcher's Maildir, newest first, as simple dicts."""
    path = Path(directory)
    if not (path / "new").exists():
        return []
    box = mailbox.Maildir(str(path), create=False)
    out = []
    for key, msg in box.items():
        parsed = message_from_bytes(msg.as_bytes(), policy=policy.default)
        body = parsed.get_body(preferencelist=("plain", "html"))
        out.append({
            "key": key, "subject": str(parsed.get("Subject", "")),
            "to": str(parsed.get("To", "")), "from": str(parsed.get("From", "")),
            "date": str(parsed.get("Date", "")), "message_id": str(parsed.get("Message-ID", "")),
            "body": body.get_content() if body is not None else "",
            "mtime": msg.get_date(),
        })
    out.sort(key=lambda m: m["mtime"], reverse=True)
    return out


def main() -> None:
    """Run the catcher until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    controller = start(args.dir, args.port)
    print(f"mail catcher listening on 127.0.0.1:{args.port}, storing in {args.dir}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
