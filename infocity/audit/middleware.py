from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

# The request being served, so that audit events recorded deep in a service or a scoping helper still
# carry the client's address and the acting user without every caller passing the request down.
current_request: ContextVar[HttpRequest | None] = ContextVar("current_request", default=None)


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            current_request.reset(token)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        """A 403 raised past ``role_required`` (a service's own check, such as a workflow step the role may not
        take) is audited here, after the transaction it was raised in has been rolled back."""
        if isinstance(exception, PermissionDenied):
            from .services import audit_denied  # here: services imports this module

            audit_denied(request, str(exception) or "forbidden")
