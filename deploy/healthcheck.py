"""The web container's health check: the login page answers 200 through gunicorn.

It asks with the first allowed host name and as if through the TLS proxy, so the
check passes with production settings (ALLOWED_HOSTS, SECURE_SSL_REDIRECT) too.
Standard library only: no curl in the image.
"""

import http.client
import os
import sys

host = os.environ.get("ALLOWED_HOSTS", "localhost").split(",")[0].strip().lstrip(".")
port = int(os.environ.get("GUNICORN_BIND", "0.0.0.0:8000").rsplit(":", 1)[1])
try:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/accounts/login/", headers={"Host": host, "X-Forwarded-Proto": "https"})
    status = conn.getresponse().status
except OSError as exc:
    sys.exit(f"unhealthy: {exc}")
sys.exit(0 if status == 200 else f"unhealthy: HTTP {status}")
