from django import template

from learning.services import accounts

register = template.Library()


@register.filter
def web_url(url: str) -> str:
    """The URL if it is http(s), else "": a resource link is never javascript: or data:."""
    return url if url.lower().startswith(("https://", "http://")) else ""


@register.filter
def is_instructor(user) -> bool:
    return accounts.is_instructor(user)
