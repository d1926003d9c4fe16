"""A tiny real HTTP client for the live server: sign in, then read an SSE stream."""
from __future__ import annotations

import http.client
import http.cookiejar
import queue
import re
import socket
import threading
import time
import urllib.parse
import urllib.request


class Browserish:
    """Keeps cookies like a browser and signs in through the real form."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> str:
        with self.opener.open(self.base_url + path, timeout=10) as resp:
            return resp.read().decode()

    def login(self, email: str, password: str) -> None:
        html = self.get("/login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
        data = urllib.parse.urlencode({"csrf_token": token, "email": email,
                                       "password": password}).encode()
        with self.opener.open(self.base_url + "/login", data=data, timeout=10) as resp:
            assert "/login" not in resp.geturl(), "sign-in failed"

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


class EventStream:
    """Reads SSE frames on a thread; frames() gives parsed events with a timeout."""

    def __init__(self, base_url: str, path: str, cookie: str, last_event_id: str | None = None):
        parts = urllib.parse.urlsplit(base_url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        headers = {"Cookie": cookie, "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self.conn.request("GET", path, headers=headers)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.events: queue.Queue = queue.Queue()
        self.closed = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        current: dict = {}
        try:
            while True:
                line = self.resp.readline()
                if not line:
                    break
                line = line.decode().rstrip("\n")
                if not line:
                    if current:
                        self.events.put(current)
                    current = {}
                elif line.startswith(":"):
                    self.events.put({"comment": line})
                else:
                    key, _, value = line.partition(": ")
                    if key == "data":
                        current["data"] = current.get("data", "") + value
                    else:
                        current[key] = value
        except Exception:
            pass
        finally:
            self.closed.set()

    def next_event(self, name: str, timeout: float = 5.0) -> dict:
        """The next event with this name (skipping keepalives and others)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                ev = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if ev.get("event") == name:
                return ev
        raise AssertionError(f"no '{name}' event within {timeout}s")

    def close(self) -> None:
        # The response holds the socket: shut it down so the server's stream ends now,
        # not when the test session does.
        sock = getattr(getattr(self.resp, "fp", None), "raw", None)
        sock = getattr(sock, "_sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.resp.close()
        self.conn.close()
