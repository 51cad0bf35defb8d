"""Keys, tenants and credits through HTTP: what an operator and a tenant see."""

from __future__ import annotations

from tests.factories import make_tenant
from tests.stack import ApiServer


def test_missing_unknown_and_revoked_keys_are_401(api: ApiServer) -> None:
    tenant = make_tenant()
    with api.client() as anon:
        response = anon.get("/v1/me")
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"
        assert anon.get("/v1/me", headers={"X-API-KEY": "qk_nope"}).status_code == 401
    with api.client(tenant.api_key) as client:
        assert client.delete(f"/v1/api-keys/{tenant.key_id}").status_code == 200
        assert client.get("/v1/me").status_code == 401


def test_header_name_is_case_insensitive_and_request_id_echoed(api: ApiServer) -> None:
    tenant = make_tenant(credits=42)
    with api.client() as client:
        response = client.get("/v1/me", headers={"x-api-key": tenant.api_key,
                                                 "X-Request-ID": "req-123"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-123"
    body = response.json()
    assert body.pop("limits")["max_upload_bytes"] == 50 * 1024 * 1024  # docs/plans.md
    assert body == {"tenant_id": tenant.tenant_id, "key_id": tenant.key_id, "is_admin": False,
                    "credits_balance": 42, "plan": "standard"}


def test_admin_creates_tenant_issues_key_and_tops_up(api: ApiServer) -> None:
    admin = make_tenant(is_admin=True)
    with api.client(admin.api_key) as client:
        created = client.post("/v1/admin/tenants", json={"name": "acme", "credits": 100})
        assert created.status_code == 201, created.text
        tenant_id = created.json()["tenant_id"]
        assert tenant_id.startswith("ten_") and created.json()["credits_balance"] == 100
        issued = client.post(f"/v1/admin/tenants/{tenant_id}/api-keys", json={"name": "ci"})
        assert issued.status_code == 201
        new_key = issued.json()["api_key"]
        topped = client.post(f"/v1/admin/tenants/{tenant_id}/credits",
                             json={"amount": 50, "reason": "promo"})
        assert topped.json() == {"tenant_id": tenant_id, "credits_balance": 150}
    with api.client(new_key) as tenant_client:
        me = tenant_client.get("/v1/me").json()
        assert me["tenant_id"] == tenant_id and me["credits_balance"] == 150
        keys = tenant_client.get("/v1/api-keys").json()["data"]
        assert [k["prefix"] for k in keys] == [new_key[:10]]
        assert "api_key" not in keys[0]
    with api.client(admin.api_key) as client:
        assert client.delete(f"/v1/admin/api-keys/{issued.json()['key_id']}").status_code == 200
    with api.client(new_key) as tenant_client:
        assert tenant_client.get("/v1/me").status_code == 401


def test_tenant_key_cannot_use_admin_routes_or_others_keys(api: ApiServer) -> None:
    tenant, other = make_tenant(), make_tenant()
    with api.client(tenant.api_key) as client:
        response = client.post("/v1/admin/tenants", json={"name": "x"})
        assert response.status_code == 403 and response.json()["code"] == "forbidden"
        assert client.delete(f"/v1/api-keys/{other.key_id}").status_code == 404
        assert client.post("/v1/api-keys", json={"is_admin": True}).status_code == 403


def test_malformed_json_body_is_400_with_detail(api: ApiServer) -> None:
    admin = make_tenant(is_admin=True)
    with api.client(admin.api_key) as client:
        response = client.post("/v1/admin/tenants", content=b"{not json",
                               headers={"Content-Type": "application/json"})
        assert response.status_code == 400
        assert set(response.json()) >= {"detail", "code"}
        missing = client.post("/v1/admin/tenants", json={})
        assert missing.status_code == 400 and "name" in missing.json()["detail"]


def test_health_and_readiness(api: ApiServer) -> None:
    with api.client() as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz").json()
        assert ready["status"] == "ready"
        assert ready["checks"] == {"database": "ok", "redis": "ok", "storage": "ok"}
        unknown = client.get("/nope")
        assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
