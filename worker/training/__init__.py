"""Trained pipelines: learn a document type's labels, columns and formats from labeled examples.

The learning step (`learn`, `variants`) is plain functions over converted documents and
their expected JSON, testable without Celery or a database; `runner` wires it to the
training job's rows and storage.
"""
