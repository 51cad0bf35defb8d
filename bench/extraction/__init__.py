"""Extraction benchmark: a labeled set of generated documents and a scorer for both engines."""
