"""Bulk submission: many jobs in one transaction, counted, streamed and fairly dispatched."""
