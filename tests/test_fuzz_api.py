"""Fuzz the live API from its own OpenAPI document: every non-admin route, valid and invalid
inputs, an authenticated tenant. Whatever arrives, the answer is never a 5xx."""

from __future__ import annotations

import os
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from shared.db.session import transaction
from shared.tenants.service import set_rate_limits
from tests.factories import make_tenant
from tests.stack import ApiServer

# Per route and generation mode (valid, invalid); about 30 routes, a few hundred cases in all.
CASES_PER_MODE = int(os.environ.get("QUARRY_FUZZ_CASES", "8"))
UNLIMITED = {"rate": 100_000, "burst": 1_000_000}


@pytest.fixture(scope="module")
def api_key(api: ApiServer) -> str:
    tenant = make_tenant(credits=1_000_000)
    with transaction() as session:  # the fuzzer is one fast tenant: no 429s hiding a route
        set_rate_limits(session, tenant_id=tenant.tenant_id,
                        limits={"heavy": UNLIMITED, "general": UNLIMITED})
    return tenant.api_key


def _no_waiting(case: schemathesis.Case) -> None:
    """Job routes hold the request until the job ends (no worker runs here): answer at once."""
    if isinstance(case.body, dict) and ("wait" in case.body or case.path in JOB_ROUTES):
        case.body["wait"] = 0


JOB_ROUTES = {"/v1/extract", "/v1/to-markdown", "/v1/canonical", "/v1/ocr/to-markdown"}


def test_no_input_makes_the_api_fail(api: ApiServer, api_key: str) -> None:
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json", timeout=30)
    schema = schema.exclude(path_regex=r"^/v1/admin/")
    session = requests.Session()
    session.headers["X-API-KEY"] = api_key
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20

    for operation in operations:
        strategy = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                             operation.as_strategy(GenerationMode.NEGATIVE))

        @settings(max_examples=2 * CASES_PER_MODE, deadline=None, database=None,
                  derandomize=True, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def call(case: schemathesis.Case) -> None:
            _no_waiting(case)
            response = case.call(base_url=api.url, session=session, timeout=60)
            if response.status_code >= 500:
                failures.append(_describe(case, response))

        call()

    assert not failures, "\n\n".join(failures[:10])


def _describe(case: schemathesis.Case, response: Any) -> str:
    return (f"{case.method} {case.path} -> {response.status_code} {response.text[:300]}\n"
            f"{case.as_curl_command(base_url=case.operation.base_url)}"[:3000])
