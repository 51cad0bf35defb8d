"""The web console, served by the API at `/console` (see docs/console.md)."""

from fastapi import APIRouter

from api.console import routes, static

router = APIRouter()
router.include_router(routes.router)
router.include_router(static.router)

__all__ = ["router"]
