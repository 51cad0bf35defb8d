"""Locust users for the load test: one hammers a heavy route, one a general route.

A 429 from the rate limiter is the expected answer past the limit, so it is counted
under its own name instead of as a failure; anything else non-2xx is a failure.
"""

from __future__ import annotations

import os

from locust import HttpUser, constant_throughput, task
from locust.clients import ResponseContextManager

PDF = open(os.environ["QUARRY_LOAD_PDF"], "rb").read()  # noqa: SIM115
KEY = os.environ["QUARRY_LOAD_KEY"]
RATE = float(os.environ.get("QUARRY_LOAD_RATE", "10"))


def _judge(response: ResponseContextManager, name: str) -> None:
    if response.status_code == 429:
        response.request_meta["name"] = f"{name} (429)"
        response.success()
    elif response.status_code >= 400:
        response.failure(f"HTTP {response.status_code}")


class HeavyUser(HttpUser):
    wait_time = constant_throughput(RATE)
    weight = int(os.environ.get("QUARRY_LOAD_HEAVY", "1"))

    @task
    def extract(self) -> None:
        with self.client.post("/v1/extract", headers={"X-API-KEY": KEY},
                              files={"file": ("inv.pdf", PDF)},
                              data={"schema": '{"total": "number"}', "mode": "fast"},
                              name="POST /v1/extract", catch_response=True) as response:
            _judge(response, "POST /v1/extract")


class GeneralUser(HttpUser):
    wait_time = constant_throughput(RATE)
    weight = int(os.environ.get("QUARRY_LOAD_GENERAL", "1"))

    @task
    def list_jobs(self) -> None:
        with self.client.get("/v1/jobs?limit=5", headers={"X-API-KEY": KEY},
                             name="GET /v1/jobs", catch_response=True) as response:
            _judge(response, "GET /v1/jobs")
