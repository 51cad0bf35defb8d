"""Traces from request to task: API and worker spans of one job share a trace id."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.factories import make_pdf, make_tenant
from tests.stack import redis_database, start_api, start_worker, wait_for


@contextmanager
def otlp_collector() -> Iterator[tuple[str, list[tuple[str, str, str]]]]:
    """A loopback OTLP/HTTP receiver recording (service, trace id, span name)."""
    spans: list[tuple[str, str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            request = ExportTraceServiceRequest()
            request.ParseFromString(self.rfile.read(int(self.headers["content-length"])))
            for resource_spans in request.resource_spans:
                service = next(a.value.string_value for a in resource_spans.resource.attributes
                               if a.key == "service.name")
                for scope in resource_spans.scope_spans:
                    spans.extend((service, span.trace_id.hex(), span.name) for span in scope.spans)
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", spans
    finally:
        server.shutdown()
        server.server_close()


def test_request_and_task_spans_share_a_trace(base_env: dict[str, str], log_dir: Path) -> None:
    with otlp_collector() as (endpoint, spans):
        env = {**base_env, "QUARRY_OTEL_EXPORTER_ENDPOINT": endpoint,
               "QUARRY_REDIS_URL": redis_database(base_env, 9)}
        api, worker = start_api(env, log_dir), start_worker(env, log_dir, concurrency=1)
        try:
            tenant = make_tenant()
            with api.client(tenant.api_key) as client:
                done = client.post("/v1/to-markdown", files={"file": ("a.pdf", make_pdf())})
                assert done.status_code == 200, done.text

            def joined() -> bool:
                api_traces = {t for s, t, _ in spans if s == "quarry-api"}
                return any(s == "quarry-worker" and t in api_traces for s, t, _ in spans)

            wait_for(joined, worker, timeout=30)
        finally:
            worker.stop()
            api.process.stop()
    names = {name for _, _, name in spans}
    assert any("jobs.run" in name for name in names), names
