"""Extraction engines: document + JSON Schema → values with evidence."""
