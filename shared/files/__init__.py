"""File-type detection and integrity checks, run by the API and again by workers."""
