"""Signed webhooks: per-tenant secrets, deliveries with their attempts, the retry schedule."""
