"""Retention: results and files of old finished jobs are purged; their metadata stays."""
