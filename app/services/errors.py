"""Domain errors. Each surface (forms, native API, facades) maps them in one place."""

from __future__ import annotations


class ServiceError(Exception):
    """Base class: an operation refused for a reason the caller can show to a person."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ValidationError(ServiceError):
    """Input breaks a domain rule; ``fields`` maps each field name to its message."""

    def __init__(self, fields: dict[str, str], message: str = "Validation failed"):
        super().__init__(message)
        self.fields = fields


class NotFound(ServiceError):
    """The thing asked for does not exist (or is not visible to the caller)."""


class Conflict(ServiceError):
    """The operation no longer applies to the current state (setup already done, …)."""


class Forbidden(ServiceError):
    """The caller is known but may not do this (a scope it lacks, an address not allowed)."""


class AuthenticationFailed(ServiceError):
    """Wrong credentials. One message whatever was wrong, so accounts cannot be probed."""


class Throttled(ServiceError):
    """Too many attempts; ``retry_after`` says in how many seconds to try again."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(ServiceError):
    """A dependency (Redis, the database) is down and the operation must not proceed."""
