"""The errors every layer raises and catches, defined below all of them.

Domain services raise these; delivery (API, staff pages, portal) turns them into the API error
body or a Chinese form message. This module imports nothing of the project, so any app may
import it without creating a cycle.
"""

from __future__ import annotations


class DomainError(Exception):
    """A refused state change: ``status`` is the HTTP status, ``code`` a stable machine code."""

    status = 400
    code = "domain_error"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class Conflict(DomainError):
    status = 409
    code = "conflict"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


class ValidationFailed(Exception):
    """``fields`` maps a dotted path to its messages (already translated)."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__(fields)
        self.fields = fields
