"""`{% gpu_panel objective %}`: the "Run GPU check" panel inside a module page's objective row."""

from django import template
from django.urls import reverse

register = template.Library()


@register.inclusion_tag("diagnostics/_gpu_panel.html", takes_context=True)
def gpu_panel(context, objective) -> dict:
    from diagnostics.views import panel_context

    request = context["request"]
    # The module page itself, also when the row is rendered for an htmx tick.
    page = reverse("learning:module", args=[objective.module.slug])
    return {
        **panel_context(request, next_url=page, target=f"objective-{objective.pk}"),
        "request": request,
        "csrf_token": context.get("csrf_token"),
    }
