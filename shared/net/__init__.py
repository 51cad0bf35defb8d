"""Outbound network access: the SSRF guard and the pinned HTTP client built on it."""
