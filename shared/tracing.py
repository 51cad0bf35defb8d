"""OpenTelemetry traces from request to task; off unless an OTLP endpoint is configured.

The API and the workers both instrument Celery, so the trace context rides in each
task message's headers and a job's worker spans join the request that created it.
"""

from __future__ import annotations

from typing import Any

from shared.settings import get_settings


def tracing_enabled() -> bool:
    return bool(get_settings().otel_exporter_endpoint)


def configure_tracing(service_name: str) -> None:
    """Install a tracer provider exporting over OTLP/HTTP and instrument Celery."""
    if not tracing_enabled():
        return
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    endpoint = get_settings().otel_exporter_endpoint.rstrip("/") + "/v1/traces"
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint),
                                                   schedule_delay_millis=500))
    trace.set_tracer_provider(provider)
    CeleryInstrumentor().instrument()  # type: ignore[no-untyped-call]


def instrument_app(app: Any) -> None:
    """Trace every HTTP request of the FastAPI app (after `configure_tracing`)."""
    if not tracing_enabled():
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")
