"""Template context shared by every page."""

from django.http import HttpRequest

from learning.models import Status


def vocabulary(request: HttpRequest) -> dict:
    """The Status members, so templates compare `row.status == Status.VERIFIED`, not strings."""
    return {"Status": Status}
