"""The console's static files, served by the API from a fixed list (no directory is exposed).

htmx is vendored from the npm package `htmx.org` 2.0.11 (`dist/htmx.min.js`, unmodified), so
the console needs no CDN and no build step."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.responses import Response

from shared.errors import NotFound

HTMX_VERSION = "2.0.11"
STATIC_DIR = Path(__file__).parent / "static"
CONTENT_TYPES = {"htmx.min.js": "text/javascript; charset=utf-8",
                 "console.css": "text/css; charset=utf-8",
                 "console.js": "text/javascript; charset=utf-8"}
_FILES = {name: (STATIC_DIR / name).read_bytes() for name in CONTENT_TYPES}
_ETAGS = {name: '"' + hashlib.sha256(body).hexdigest()[:16] + '"' for name, body in _FILES.items()}

router = APIRouter(prefix="/console/static", include_in_schema=False)


@router.get("/{name}")
def static_file(name: str, request: Request) -> Response:
    if name not in _FILES:
        raise NotFound("No such file.")
    headers = {"ETag": _ETAGS[name], "Cache-Control": "public, max-age=3600",
               "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == _ETAGS[name]:
        return Response(status_code=304, headers=headers)
    return Response(_FILES[name], media_type=CONTENT_TYPES[name], headers=headers)
