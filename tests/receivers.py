"""A real webhook receiver on loopback for the tests: records requests, answers as told."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    statuses: list[int] = field(default_factory=list)
    """Answers for the next requests, in order; 200 once they run out."""
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    hangs: list[float] = field(default_factory=list)
    """Seconds to stall before answering the next requests, in order (a hung receiver)."""

    def next_status(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else 200

    def next_hang(self) -> float:
        with self.lock:
            return self.hangs.pop(0) if self.hangs else 0.0

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} webhook requests, got {len(self.requests)}")


@contextmanager
def webhook_receiver(statuses: list[int] | None = None,
                     hangs: list[float] | None = None) -> Iterator[Receiver]:
    receiver: Receiver | None = None

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            assert receiver is not None
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            hang = receiver.next_hang()
            if hang:
                time.sleep(hang)
                return  # the sender has given up; answer nothing
            status = receiver.next_status()
            with receiver.lock:
                receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
            self.send_response(status)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hook",
                        statuses=list(statuses or []), hangs=list(hangs or []))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
