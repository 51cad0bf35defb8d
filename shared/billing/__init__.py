"""Credits: an append-only ledger and the balance kept in step with it."""
