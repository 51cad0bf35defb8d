"""HMAC signatures for the local backend's upload URLs (what S3 does with SigV4)."""

from __future__ import annotations

import hashlib
import hmac

from shared.settings import get_settings


def sign_upload(upload_id: str, expires: int) -> str:
    message = f"{upload_id}:{expires}".encode()
    return hmac.new(get_settings().secret_key.encode(), message, hashlib.sha256).hexdigest()


def signature_is_valid(upload_id: str, expires: int, signature: str) -> bool:
    # As bytes: compare_digest refuses non-ASCII str, and a URL can carry anything.
    return hmac.compare_digest(sign_upload(upload_id, expires).encode(), signature.encode())
