"""The web console, served by the API at `/console` (see docs/console.md)."""

from fastapi import APIRouter

from api.console import admin, playground, routes, static, training

router = APIRouter()
router.include_router(routes.router)
router.include_router(playground.router)
router.include_router(training.router)
router.include_router(admin.router)
router.include_router(static.router)

__all__ = ["router"]
