"""gunicorn for TorchReady: the web service in docker-compose.yml and in CI's smoke test.

Every value can be changed by an environment variable, so the container and a
native run use this same file.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Two processes, each with a few threads: a worker's heartbeat or report spends
# most of its time waiting on PostgreSQL, and threads keep 300 of them moving.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# A request that takes longer than this is stuck; the API answers in milliseconds.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle processes now and then, so a slow leak never grows without bound.
max_requests = 5000
max_requests_jitter = 500
# Request line and headers: small, like the API itself (bodies are limited by the views).
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190
# Trust X-Forwarded-* only from the reverse proxy.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
# gunicornc's control socket, beside the app's other state: the default,
# ~/.gunicorn/, is the image's read-only /app for its non-root user.
control_socket = os.path.join(os.environ.get("TORCHREADY_VAR_DIR", "var"), "gunicorn.ctl")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
