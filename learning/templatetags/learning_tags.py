from django import template

register = template.Library()


@register.filter
def web_url(url: str) -> str:
    """The URL if it is http(s), else "": a resource link is never javascript: or data:."""
    return url if url.lower().startswith(("https://", "http://")) else ""
