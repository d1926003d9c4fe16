"""Static files compressed once, at the best ratio, and kept in memory.

Flask-Compress compresses each response as it goes out, at a level chosen for speed
(brotli 4): right for pages, wasteful for static files, which never change under their
hashed URLs. Here a static file is compressed once per process at brotli 11 (or gzip 9)
and the bytes reused, so a first visit on a slow link downloads about 10 KB less
(GOV.UK Frontend's CSS, htmx). Flask-Compress leaves a response that already has a
Content-Encoding alone."""
from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

import brotli
from flask import Flask, Response, request
from werkzeug.security import safe_join


@lru_cache(maxsize=64)
def _compressed(path: str, mtime: float, encoding: str) -> bytes:
    data = Path(path).read_bytes()
    if encoding == "br":
        return brotli.compress(data, quality=11)
    return gzip.compress(data, compresslevel=9, mtime=0)


def _encoding() -> str | None:
    accepted = request.accept_encodings
    for encoding in ("br", "gzip"):
        if accepted[encoding] > 0:
            return encoding
    return None


def register_static_compression(app: Flask) -> None:
    mimetypes = set(app.config.get("COMPRESS_MIMETYPES", ()))
    smallest = app.config.get("COMPRESS_MIN_SIZE", 500)

    @app.after_request
    def compress_static(resp: Response) -> Response:
        if request.endpoint != "static" or resp.status_code != 200 \
                or resp.mimetype not in mimetypes or "Content-Encoding" in resp.headers \
                or not app.static_folder:
            return resp
        encoding = _encoding()
        path = safe_join(app.static_folder, (request.view_args or {}).get("filename", ""))
        if encoding is None or path is None or not Path(path).is_file():
            return resp
        stat = Path(path).stat()
        if stat.st_size < smallest:
            return resp
        body = _compressed(path, stat.st_mtime, encoding)
        if hasattr(resp.response, "close"):  # the file send_file opened
            resp.response.close()
        resp.direct_passthrough = False
        resp.set_data(body)
        resp.headers["Content-Encoding"] = encoding
        resp.vary.add("Accept-Encoding")
        etag, weak = resp.get_etag()
        if etag:  # another representation: its own tag, so no If-Range joins two encodings
            resp.set_etag(f"{etag}:{encoding}", bool(weak))
        return resp
