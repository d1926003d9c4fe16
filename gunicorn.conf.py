"""gunicorn settings, read by `make run` (helpline/run.py) and by gunicorn started from here.

The access log records the path without its query string, and no Referer: searches send
names, phone numbers and postcodes in the query string (and a Referer repeats the page's),
and log files are kept and copied far more widely than the database. Each line ends with
the request id the app sends in `X-Request-Id` (the same id is in the app's own request
line and on error pages). LOG_FORMAT=json writes the access log as JSON objects too."""
import os
import re

if os.environ.get("LOG_FORMAT") == "json":
    # no user agent: it is free text and could break the JSON
    access_log_format = ('{"time": "%(t)s", "logger": "gunicorn.access", "remote": "%(h)s", '
                         '"request": "%(m)s %(U)s %(H)s", "status": %(s)s, "bytes": "%(b)s", '
                         '"request_id": "%({x-request-id}o)s"}')
else:
    access_log_format = ('%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s" '
                         '%({x-request-id}o)s')


from gunicorn.glogging import Logger  # noqa: E402


def _escaped(path: str) -> str:
    """A path that keeps the JSON format valid and cannot forge a line: backslash, quote
    and control characters percent-encoded."""
    return re.sub(r"[\x00-\x1f\x7f]", lambda m: f"%{ord(m.group()):02X}",
                  path.replace("\\", "%5C").replace('"', "%22"))


class PrivateAccessLogger(Logger):
    """Never the query string, the raw request line or the Referer; an unknown path (404)
    becomes "-", as it can hold anything someone typed (the app's request line does the
    same); a route whose path is a credential (helpline.logs.SECRET_ENDPOINTS) shows its
    rule, as the app's line does."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms.update(q="-", r="-", f="-")
        if str(atoms.get("s")) == "404":
            atoms["U"] = "-"
        else:  # what the app logged (a credential path: its rule), else the path as sent
            atoms["U"] = _escaped(environ.get("helpline.logged_path") or atoms.get("U") or "-")
        return atoms


logger_class = PrivateAccessLogger
