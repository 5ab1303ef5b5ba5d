"""The service: the outermost layer, where the Flask app (grader.api) and the Celery app
(workers) are built from one `Settings` and started. It imports `grader` and `workers`;
nothing in either imports it (import contracts `layers` and `no-service`).

Entry points: the `grader` console script and `python -m service` (`service.cli`),
gunicorn's `service.wsgi:app`, and Celery's `celery -A service.celery_app`."""
