"""The processing pipeline: plain functions over one document model.

detect → check → convert/OCR → extract → validate → ground. No Celery, HTTP or
database here, so each stage is testable on its own.
"""
