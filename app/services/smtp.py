"""The e-mail server (SMTP) that e-mail channels send through.

It comes from the ``UPCRON_SMTP_*`` variables or, while ``UPCRON_SMTP_HOST`` is unset, from
the dashboard (kept in the settings table). The environment wins: it is how an operator
deploys, its password then never enters the database, and the dashboard shows it read-only.
The password is never shown back, by the dashboard or the API.
"""

from __future__ import annotations

from email.utils import parseaddr
from typing import Any

from flask import current_app

from app.config import SMTP_DEFAULT_PORTS, SMTP_SECURITY
from app.engine.address_policy import literal_refusal
from app.engine.notify import SmtpSettings
from app.services import fields, settings
from app.services.errors import Conflict, ValidationError
from app.services.validation import email_error

KEY = "smtp"
SOURCE_ENVIRONMENT = "environment"
SOURCE_DASHBOARD = "dashboard"
HOST_MAX = 253
CREDENTIAL_MAX = 500


def _host(value: Any) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError("Enter the host name or address of the mail server.")
    if not isinstance(value, str):
        raise ValueError("Must be text.")
    value = value.strip()
    if len(value) > HOST_MAX or any(c.isspace() or c in "/@" for c in value):
        raise ValueError("Enter a host name or IP address, such as smtp.example.com.")
    refusal = literal_refusal(value, current_app.config["TARGET_POLICY"])
    if refusal:
        raise ValueError(f"{refusal}.")
    return value


def _sender(value: Any) -> str:
    """A From address, bare or with a display name ("Upcron <alerts@example.com>")."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError("Enter the address alerts are sent from.")
    if not isinstance(value, str):
        raise ValueError("Must be text.")
    value = value.strip()
    _display, address = parseaddr(value)
    if any(c in value for c in "\r\n") or email_error(address.lower()):
        raise ValueError("Enter an e-mail address, such as Upcron <alerts@example.com>.")
    return value


_PARSERS: dict[str, fields.Parser] = {
    "host": _host,
    "port": fields.optional(fields.whole_number(1, 65535)),
    "security": fields.choice(SMTP_SECURITY),
    "username": fields.optional(fields.text(CREDENTIAL_MAX)),
    "password": fields.optional(fields.text(CREDENTIAL_MAX)),
    "sender": _sender,
}


def _from_environment() -> dict[str, Any] | None:
    return current_app.config.get("SMTP")


def current() -> SmtpSettings | None:
    """The server to send through now, or None when neither source sets one. A server typed
    in the dashboard is connected to only where the target policy allows."""
    environment = _from_environment()
    stored = environment or settings.get(KEY)
    return SmtpSettings(**stored, guarded=environment is None) if stored else None


def describe() -> dict[str, Any]:
    """The settings as the dashboard and API show them: the password only as set or not."""
    environment = _from_environment()
    stored = environment or settings.get(KEY)
    if not stored:
        return {"source": None, "configured": False}
    public = {key: value for key, value in stored.items() if key != "password"}
    return {
        "source": SOURCE_ENVIRONMENT if environment else SOURCE_DASHBOARD,
        "configured": True,
        **public,
        "password_set": bool(stored.get("password")),
    }


def update(data: Any) -> dict[str, Any]:
    """Save the dashboard's server. A password left out keeps the stored one; null clears it.

    Refused while UPCRON_SMTP_HOST is set: the environment would win anyway.
    """
    if _from_environment():
        raise Conflict("The mail server is set by UPCRON_SMTP_* variables; change it there.")
    values, errors = fields.parse(data, _PARSERS)
    fields.require(data, errors, {"host": "Enter the host name or address of the mail server."})
    fields.require(data, errors, {"sender": "Enter the address alerts are sent from."})
    stored = settings.get(KEY) or {}
    security = values.get("security", "starttls")
    password = values["password"] if "password" in values else stored.get("password")
    username = values.get("username")
    if username and not password and "password" not in errors:
        errors["password"] = "Enter the password for this user name."
    if errors:
        raise ValidationError(errors)
    settings.put(
        KEY,
        {
            "host": values["host"],
            "port": values.get("port") or SMTP_DEFAULT_PORTS[security],
            "security": security,
            "username": username,
            "password": password if username else None,
            "sender": values["sender"],
        },
    )
    return describe()


def clear() -> None:
    """Forget the dashboard's server; e-mail channels fail until one is set again."""
    if _from_environment():
        raise Conflict("The mail server is set by UPCRON_SMTP_* variables; change it there.")
    settings.delete(KEY)
