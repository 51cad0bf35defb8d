"""Seal secrets that must rest in the database (BYOK provider keys) with the server key."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from shared.settings import get_settings


def _fernet() -> Fernet:
    digest = hashlib.sha256(("quarry-seal:" + get_settings().secret_key).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def unseal(token: str) -> str | None:
    """The plain secret, or None if it was sealed under another server key."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return None
