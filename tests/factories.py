"""Plain factory functions with keyword-only defaults: tenants, keys, documents."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pymupdf

from shared.billing.ledger import top_up
from shared.db.session import transaction
from shared.tenants.service import create_tenant, issue_key


@dataclass(frozen=True)
class TenantKeys:
    tenant_id: str
    api_key: str
    key_id: str


def make_tenant(*, credits: int = 1000, is_admin: bool = False, name: str | None = None) -> TenantKeys:
    with transaction() as session:
        tenant = create_tenant(session, name=name or f"tenant-{uuid.uuid4().hex[:8]}")
        if credits:
            top_up(session, tenant_id=tenant.id, amount=credits, reason="test",
                   entry_key=f"topup:{tenant.id}:test")
        issued = issue_key(session, tenant_id=tenant.id, name="test", is_admin=is_admin)
        return TenantKeys(tenant_id=tenant.id, api_key=issued.plain, key_id=issued.key.id)


def make_pdf(*, lines: list[str] | None = None, pages: int = 1, font_size: float = 11) -> bytes:
    """A text PDF; each page gets `lines`, one per row, from the top-left."""
    lines = lines or ["Invoice Number: INV-2024-001", "Total: $1,250.00"]
    document = pymupdf.open()
    for _ in range(pages):
        page = document.new_page()
        for row, text in enumerate(lines):
            page.insert_text((72, 72 + row * (font_size * 1.8)), text, fontsize=font_size)
    data: bytes = document.tobytes()
    document.close()
    return data


INVOICE_LINES = [
    "ACME SUPPLIES LTD",
    "Invoice Number: INV-2024-001",
    "Invoice Date: 2024-03-15",
    "Total: $1,250.00",
]


def make_long_pdf(*, pages: int) -> bytes:
    """A many-page text PDF, built by copying one page (fast to make, slow to convert)."""
    source = pymupdf.open(stream=make_pdf(lines=[f"Row {i} of a long quarterly report" for i in range(40)]),
                          filetype="pdf")
    document = pymupdf.open()
    for _ in range(pages):
        document.insert_pdf(source)
    data: bytes = document.tobytes()
    document.close()
    source.close()
    return data
