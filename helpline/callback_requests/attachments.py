"""The completed downtime paper form attached to a call-back request (steps 27–28).

Files live under ATTACHMENT_DIR (never under static/), named by a random key; the type
is decided by the file's first bytes, not by its name or the browser's word for it.
"""
from __future__ import annotations

import secrets
from pathlib import Path
from typing import IO

from .. import audit
from ..auth.models import User
from ..rules import RuleError
from ..timeutil import utcnow
from .models import CallBackRequest

# magic bytes -> (MIME type, label)
KINDS: list[tuple[bytes, str, str]] = [
    (b"%PDF-", "application/pdf", "PDF"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "PNG image"),
    (b"\xff\xd8\xff", "image/jpeg", "JPEG image"),
]
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
FIELD = "attachment"


def sniff(head: bytes) -> str | None:
    """The MIME type the content really has, if it is one we accept."""
    for magic, mime, _label in KINDS:
        if head.startswith(magic):
            return mime
    return None


def size_label(n: int) -> str:
    """1048576 -> "1 MB", 2048 -> "2 KB"."""
    return f"{n / 1048576:g} MB" if n >= 1048576 else f"{max(1, round(n / 1024))} KB"


def _read_limited(stream: IO[bytes], max_bytes: int) -> bytes:
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise RuleError(f"The file must be at most {size_label(max_bytes)}", field=FIELD)
    return data


def attach(req: CallBackRequest, filename: str | None, stream: IO[bytes] | None,
           actor: User, directory: str, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
    """Store the paper form for the request (replacing an earlier one); never commits."""
    if stream is None or not filename:  # nothing chosen
        raise RuleError("Choose the completed paper form to attach (PDF, PNG or JPEG)",
                           field=FIELD)
    data = _read_limited(stream, max_bytes)
    if not data:
        raise RuleError("The chosen file is empty", field=FIELD)
    mime = sniff(data[:16])
    if mime is None:
        raise RuleError("The file must be a PDF, PNG or JPEG (a scan or photo of the "
                           "completed form)", field=FIELD)
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(16)
    (folder / key).write_bytes(data)
    before = req.attachment_name
    if req.attachment_key:  # a replaced scan is deleted: it is all personal data
        (folder / req.attachment_key).unlink(missing_ok=True)
    req.attachment_key, req.attachment_type = key, mime
    req.attachment_name = Path(filename.replace("\\", "/")).name[:200] or "paper-form"
    req.attachment_size, req.attachment_at = len(data), utcnow()
    audit.record(actor, "attach", "call-back request", req.id,
                 changes={"Completed paper form": (before, req.attachment_name)})


def path_of(req: CallBackRequest, directory: str) -> Path | None:
    """Where the request's attachment is stored (None if it has none or it is missing)."""
    if not req.attachment_key or not req.attachment_key.isalnum():
        return None
    path = Path(directory) / req.attachment_key
    return path if path.is_file() else None


def download_name(req: CallBackRequest) -> str:
    """A safe file name for the download, with the extension of its real type."""
    ext = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}.get(
        req.attachment_type or "", "")
    stem = "".join(c for c in Path(req.attachment_name or "paper-form").stem
                   if c.isalnum() or c in "-_ ")[:80].strip() or "paper-form"
    return f"{stem}{ext}"
