"""Opaque, prefixed identifiers (`job_…`, `ten_…`)."""

import secrets

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def new_id(prefix: str, length: int = 20) -> str:
    """A random id such as `job_4f0c…`, unguessable across tenants."""
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))
