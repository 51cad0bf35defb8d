"""The FastAPI application: middleware, error handlers and every router."""

from __future__ import annotations

from fastapi import FastAPI

from api.errors import install_error_handlers
from api.limits import HeavyInflightCap
from api.metrics import router as metrics_router
from api.middleware import EdgeGuard, RequestContextMiddleware
from api.routers import (
    admin,
    artifacts,
    batches,
    billing,
    canonical,
    extract,
    health,
    jobs,
    me,
    training,
    uploads,
    webhooks,
)
from shared.logs import configure_logging
from shared.settings import get_settings
from shared.tracing import configure_tracing, instrument_app


def create_app() -> FastAPI:
    configure_logging(get_settings().log_level)
    configure_tracing("quarry-api")
    app = FastAPI(
        title="Quarry",
        version="0.1.0",
        description="Documents in; schema-valid JSON and clean markdown out.",
    )
    install_error_handlers(app)
    # The last added runs first: context and catch-all, then the edge guard, then the cap.
    app.add_middleware(HeavyInflightCap)
    app.add_middleware(EdgeGuard)
    app.add_middleware(RequestContextMiddleware)
    for module in (health, me, admin, billing, uploads, jobs, extract, canonical, training,
                   artifacts, batches, webhooks):
        app.include_router(module.router)
    app.include_router(metrics_router)
    instrument_app(app)
    return app


app = create_app()
