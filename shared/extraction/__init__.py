"""Extraction request pieces both sides need: schemas and engine options."""
