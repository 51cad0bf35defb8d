"""Every list answers one envelope, `{"data", "has_more", "next_cursor"}`, and pages by an
opaque cursor: jobs, batches, artifacts, a job's webhook deliveries, API keys."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import make_tenant
from tests.stack import ApiServer

LISTS = ("/v1/jobs", "/v1/batches", "/v1/artifacts", "/v1/api-keys")


def all_pages(client: httpx.Client, path: str, limit: int) -> list[dict[str, Any]]:
    pages, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        response = client.get(path, params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert set(page) == {"data", "has_more", "next_cursor"}, page
        assert page["has_more"] == (page["next_cursor"] is not None)
        pages.append(page)
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return pages
        assert len(pages) < 20, "paging does not end"


def uploaded(client: httpx.Client, name: str) -> str:
    presigned = client.post("/v1/uploads/presign", json={"file_name": name}).json()
    assert httpx.put(presigned["upload_url"], content=f"{name}\n".encode(), timeout=30).is_success
    file_uri: str = presigned["file_uri"]
    return file_uri


def test_batches_and_their_jobs_page_newest_first(api: ApiServer) -> None:
    tenant = make_tenant(credits=100)
    with api.client(tenant.api_key) as client:
        created = []
        for index in range(3):
            response = client.post("/v1/batches", json={
                "operation": "inference.to_markdown",
                "items": [{"file_uri": uploaded(client, f"note{index}.txt")}]})
            assert response.status_code == 202, response.text
            created.append(response.json()["batch_id"])
        batch_pages = all_pages(client, "/v1/batches", limit=2)
        job_pages = all_pages(client, "/v1/jobs", limit=2)
    assert [len(page["data"]) for page in batch_pages] == [2, 1]
    listed = [batch["batch_id"] for page in batch_pages for batch in page["data"]]
    assert listed == created[::-1]
    assert batch_pages[0]["data"][0]["total"] == 1 and "counts" in batch_pages[0]["data"][0]
    assert [len(page["data"]) for page in job_pages] == [2, 1]
    assert len({job["job_id"] for page in job_pages for job in page["data"]}) == 3


def test_api_keys_page_oldest_first(api: ApiServer) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        issued = [client.post("/v1/api-keys", json={"name": f"k{i}"}).json()["key_id"]
                  for i in range(2)]
        pages = all_pages(client, "/v1/api-keys", limit=2)
    assert [len(page["data"]) for page in pages] == [2, 1]
    listed = [key["key_id"] for page in pages for key in page["data"]]
    assert listed == [tenant.key_id, *issued]


def test_empty_lists_and_a_job_without_deliveries(api: ApiServer) -> None:
    tenant = make_tenant(credits=10)
    with api.client(tenant.api_key) as client:
        for path in ("/v1/artifacts", "/v1/batches", "/v1/jobs"):
            assert client.get(path).json() == {"data": [], "has_more": False, "next_cursor": None}
        client.post("/v1/batches", json={"operation": "inference.to_markdown",
                                         "items": [{"file_uri": uploaded(client, "a.txt")}]})
        job_id = client.get("/v1/jobs").json()["data"][0]["job_id"]
        deliveries = client.get(f"/v1/jobs/{job_id}/deliveries")
    assert deliveries.json() == {"data": [], "has_more": False, "next_cursor": None}


def test_a_cursor_not_made_by_the_api_is_a_400(api: ApiServer) -> None:
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        for path in LISTS:
            response = client.get(path, params={"cursor": "not-a-cursor!"})
            assert response.status_code == 400, (path, response.text)
            assert response.json()["code"] in ("bad_request", "invalid_request")
            assert client.get(path, params={"limit": 0}).status_code == 400
