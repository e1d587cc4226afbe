"""RabbitMQ's HTTP auth backend asks these endpoints about students' workers.

Only the broker may ask: it sends BROKER_AUTH_SECRET as HTTP basic auth over the
internal network (deploy/rabbitmq.sh writes its configuration). Anyone else gets
the site's 404, and so does every request that came through the public reverse
proxy (it adds X-Forwarded-For), secret or not. The answer is `allow` or `deny`;
anything these endpoints don't understand is `deny`, never an error.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from . import selectors

log = logging.getLogger(__name__)

_PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_FORWARDED")


@csrf_exempt
def auth(request: HttpRequest, kind: str) -> HttpResponse:
    if not _from_broker(request):
        raise Http404
    try:
        params = request.POST if request.method == "POST" else request.GET
        allowed = _decide(kind, {key: params.get(key, "") for key in params})
    except Exception:  # noqa: BLE001 - a question we can't answer is a refusal
        log.warning("broker auth: refused a %s request it could not read", kind, exc_info=True)
        allowed = False
    return HttpResponse("allow" if allowed else "deny", content_type="text/plain")


def _from_broker(request: HttpRequest) -> bool:
    secret = settings.BROKER_AUTH_SECRET
    if not secret or any(header in request.META for header in _PROXY_HEADERS):
        return False
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        _, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return hmac.compare_digest(password.encode(), secret.encode())


def _decide(kind: str, params: dict[str, str]) -> bool:
    login = params.get("username", "")
    if kind == "user":
        return selectors.broker_login_allowed(login=login, password=params.get("password", ""))
    if kind == "vhost":
        return selectors.broker_vhost_allowed(login=login, vhost=params.get("vhost", ""))
    if kind == "resource":
        return selectors.broker_resource_allowed(
            login=login,
            vhost=params.get("vhost", ""),
            resource=params.get("resource", ""),
            name=params.get("name", ""),
            permission=params.get("permission", ""),
        )
    # "topic" (students use no topic exchange) and anything else.
    return False
