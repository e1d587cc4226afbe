"""`{% gpu_panel objective %}`: the "Run GPU check" panel inside a module page's objective row,
and `|code_spans`: a hint's `backticked` commands as <code>, everything else escaped."""

import re

from django import template
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()
CODE = re.compile(r"`([^`]+)`")


@register.inclusion_tag("diagnostics/_gpu_panel.html", takes_context=True)
def gpu_panel(context, objective) -> dict:
    from diagnostics.views import panel_context

    request = context["request"]
    # The module page itself, also when the row is rendered for an htmx tick.
    page = reverse("learning:module", args=[objective.module.slug])
    return {
        **panel_context(request, page_url=page, target=f"objective-{objective.pk}"),
        "request": request,
        "csrf_token": context.get("csrf_token"),
    }


@register.filter
def code_spans(text: str) -> SafeString:
    """Markdown's inline code and nothing else: the text is escaped first."""
    return mark_safe(CODE.sub(r"<code>\1</code>", escape(text or "")))
