"""Server time per request for the benchmarks; off unless HELPLINE_TIMING_LOG is set.

With HELPLINE_TIMING_LOG=/path/file every request appends one tab-separated line:

    unix time, pid, method, endpoint ([htmx] appended for fragments), status, service ms, response bytes, X-Bench label

Service time runs from the WSGI call into Flask until Flask returns the response (routing,
session, views, templates, after_request hooks such as compression); it leaves out the
time the server spends sending the body and the time a request waited to be accepted, so
it stays honest when the load client saturates the machine. Each process appends to the
same file in O_APPEND mode, one write per line, so lines from several workers do not mix.
"""
from __future__ import annotations

import os
import time
from typing import Any, Callable, Iterable

from flask import Flask, request

ENV = "HELPLINE_TIMING_LOG"
_ENDPOINT = "helpline.endpoint"


class ServiceTimer:
    """WSGI middleware that logs each request's service time."""

    def __init__(self, wsgi_app: Callable, path: str) -> None:
        self.wsgi_app = wsgi_app
        self.path = path
        self._fd: int | None = None
        self._pid: int | None = None

    def _write(self, line: str) -> None:
        if self._fd is None or self._pid != os.getpid():  # a forked worker opens its own
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        os.write(self._fd, line.encode())

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        t0 = time.perf_counter()
        seen: dict[str, Any] = {}

        def recording_start_response(status: str, headers: list, exc_info=None):
            seen["status"] = status.split(" ", 1)[0]
            seen["bytes"] = next((v for k, v in headers if k.lower() == "content-length"), "-")
            return start_response(status, headers, exc_info)

        result = self.wsgi_app(environ, recording_start_response)
        ms = (time.perf_counter() - t0) * 1000
        endpoint = environ.get(_ENDPOINT) or "-"
        if environ.get("HTTP_HX_REQUEST") == "true":
            endpoint += "[htmx]"  # the fragment, not the page
        label = environ.get("HTTP_X_BENCH", "-").replace("\t", " ")[:40]
        self._write(f"{time.time():.3f}\t{os.getpid()}\t{environ.get('REQUEST_METHOD')}\t"
                    f"{endpoint}\t{seen.get('status', '-')}\t{ms:.3f}\t"
                    f"{seen.get('bytes', '-')}\t{label}\n")
        return result


def register_timing(app: Flask) -> None:
    """Wrap the app in ServiceTimer when HELPLINE_TIMING_LOG is set; otherwise do nothing."""
    path = os.environ.get(ENV)
    if not path:
        return

    def _note_endpoint() -> None:
        request.environ[_ENDPOINT] = request.endpoint or "-"

    # First of the before_request hooks: one that answers early (a sign-in redirect)
    # must not hide the endpoint.
    app.before_request_funcs.setdefault(None, []).insert(0, _note_endpoint)
    app.wsgi_app = ServiceTimer(app.wsgi_app, path)  # type: ignore[method-assign]
