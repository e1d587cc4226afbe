"""The worker side of the pipeline, run on the student's machine: no Django.

``config`` fetches the broker and queue from the server, ``app`` runs a Celery
worker on that one queue, ``runner`` runs each check in a fresh subprocess,
``spool`` keeps every report on disk until the server has it and ``poster``
posts with retries.
"""
