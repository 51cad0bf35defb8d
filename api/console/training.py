"""The console's training pages (see docs/console.md)."""

from __future__ import annotations

from fastapi import APIRouter

from api.console.render import ConsoleRoute

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
