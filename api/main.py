"""The FastAPI application: middleware, error handlers and every router."""

from __future__ import annotations

from fastapi import FastAPI

from api.console import router as console_router
from api.errors import install_error_handlers
from api.limits import HeavyInflightCap
from api.metrics import router as metrics_router
from api.middleware import EdgeGuard, RequestContextMiddleware
from api.openapi import install_openapi, operation_id
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
    pages,
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
        generate_unique_id_function=operation_id,
    )
    install_error_handlers(app)
    install_openapi(app)
    # The last added runs first: context and catch-all, then the edge guard, then the cap.
    app.add_middleware(HeavyInflightCap)
    app.add_middleware(EdgeGuard)
    app.add_middleware(RequestContextMiddleware)
    for module in (health, me, admin, billing, uploads, jobs, pages, extract, canonical, training,
                   artifacts, batches, webhooks):
        app.include_router(module.router)
    app.include_router(metrics_router)
    app.include_router(console_router)
    instrument_app(app)
    return app


app = create_app()
