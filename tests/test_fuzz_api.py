"""Fuzz the live API from its own OpenAPI document: every non-admin route, valid and invalid
inputs, a tenant authenticated through the document's `apiKey` security scheme (as any
generic tool would). Whatever arrives, the answer is never a 5xx, and no operation is left
untested behind a 401."""

from __future__ import annotations

import os
import time
from collections import defaultdict
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from shared.db.session import transaction
from shared.tenants.service import set_rate_limits
from tests.factories import make_tenant
from tests.stack import ApiServer

# Per route and generation mode (valid, invalid); about 35 routes, a few hundred cases in all,
# and a time budget per route so the whole run stays near a minute.
CASES_PER_MODE = int(os.environ.get("QUARRY_FUZZ_CASES", "8"))
SECONDS_PER_ROUTE = float(os.environ.get("QUARRY_FUZZ_SECONDS_PER_ROUTE", "3"))
# The signed upload target takes no API key: its own signature answers 403 to a fuzzer.
NO_API_KEY = {("PUT", "/v1/uploads/{upload_id}/content")}
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
    # Authenticated the way the document says: the `ApiKey` security scheme, no raw header.
    config = SchemathesisConfig.from_dict({"auth": {"openapi": {"ApiKey": {"api_key": api_key}}}})
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json", config=config, timeout=30)
    schema = schema.exclude(path_regex=r"^/v1/admin/")
    session = requests.Session()
    failures: list[str] = []
    statuses: dict[tuple[str, str], set[int]] = defaultdict(set)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 25

    for operation in operations:
        _fuzz(operation, api.url, session, statuses, failures)

    assert not failures, "\n\n".join(failures[:10])
    tested = {(op.method.upper(), op.path) for op in operations}
    only_401 = sorted(key for key in tested - NO_API_KEY if statuses[key] <= {401})
    assert not only_401, f"operations that never got past authentication: {only_401}"


def _fuzz(operation: Any, base_url: str, session: requests.Session,
          statuses: dict[tuple[str, str], set[int]], failures: list[str]) -> None:
    """Valid and invalid cases for one operation, within its case count and time budget."""
    strategy = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                         operation.as_strategy(GenerationMode.NEGATIVE))
    stop_at = time.monotonic() + SECONDS_PER_ROUTE
    seen = statuses[(operation.method.upper(), operation.path)]

    @settings(max_examples=2 * CASES_PER_MODE, deadline=None, database=None,
              derandomize=True, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def call(case: schemathesis.Case) -> None:
        if time.monotonic() > stop_at and seen:
            return  # this route's time is spent (and it has answered at least once)
        _no_waiting(case)
        response = case.call(base_url=base_url, session=session, timeout=60)
        seen.add(response.status_code)
        if response.status_code >= 500:
            failures.append(_describe(case, response))

    call()


def _describe(case: schemathesis.Case, response: Any) -> str:
    return (f"{case.method} {case.path} -> {response.status_code} {response.text[:300]}\n"
            f"{case.as_curl_command(base_url=case.operation.base_url)}"[:3000])
