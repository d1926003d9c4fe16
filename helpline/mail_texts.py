"""Every outgoing mail's subject and body, rendered from templates/email/<name>.txt.

The convention (see templates/email/README.md): the first line is `Subject: …`, then
one empty line, then the body. `service_name` is always available to the template.
The subject line and the body are separate templates, so no typed value (a name with a
line break in it) can move text from one to the other or add a mail header.
"""
from __future__ import annotations

from typing import Any

from flask import current_app
from jinja2 import Template

from . import site_settings

SUBJECT = "Subject:"


class MailTemplateError(ValueError):
    """A mail template does not follow the Subject line / empty line / body convention."""


def _plain_env():
    """The app's Jinja environment without HTML escaping: mails are plain text, and an
    O'Brien or "Tom & Jerry" must arrive as typed (Flask's environment escapes
    templates made from strings)."""
    ext = current_app.extensions
    if "mail_jinja_env" not in ext:
        ext["mail_jinja_env"] = current_app.jinja_env.overlay(autoescape=False)
    return ext["mail_jinja_env"]


def _templates(name: str) -> tuple[Template, Template]:
    env = _plain_env()
    path = f"email/{name}.txt"
    source, _filename, _uptodate = env.loader.get_source(env, path)
    cache = current_app.extensions.setdefault("mail_templates", {})
    if cache.get(name, (None,))[0] != source:  # compiled once per version of the file
        first, _, rest = source.partition("\n")
        if not first.startswith(SUBJECT) or not rest.startswith(("\n", "\r\n")):
            raise MailTemplateError(f"{path} must start with a 'Subject:' line and then an "
                                    "empty line")
        cache[name] = (source, env.from_string(first[len(SUBJECT):]),
                       env.from_string(rest.lstrip("\r\n")))
    return cache[name][1], cache[name][2]


def render_mail(name: str, **ctx: Any) -> tuple[str, str]:
    """(subject, body) of mail template `name` (without .txt) rendered with ctx.

    The subject is one line whatever a typed value holds; the body ends with one newline.
    """
    subject_t, body_t = _templates(name)
    ctx.setdefault("service_name", site_settings.service_name())
    subject = " ".join(subject_t.render(**ctx).split())  # CR, LF, runs of spaces → one space
    return subject, body_t.render(**ctx).rstrip("\n") + "\n"
