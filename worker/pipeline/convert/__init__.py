"""Converters: file bytes → `Document`, one module per family of formats."""
