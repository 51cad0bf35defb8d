"""Fairness limits shared by every API process: per-tenant rate limits in Redis."""
