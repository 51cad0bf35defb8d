"""The HTTP API: authenticates, validates cheaply, records jobs, enqueues, waits."""
