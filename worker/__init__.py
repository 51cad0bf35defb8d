"""Celery workers and the document pipeline they run."""
