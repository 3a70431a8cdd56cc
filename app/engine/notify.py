"""Senders: one alert to one channel, as an e-mail, a signed webhook POST or an Apprise
notification.

Plain values in, a :class:`Sent` out, and no database: a send can take seconds and must never
hold a transaction. Every destination passes the target policy's guard
(``app.engine.address_policy``): webhooks go through the probe, which connects only to checked
addresses. Apprise and smtplib make their own connections, so the host an Apprise URL names
(self-hosted ntfy, Gotify, Matrix, json://…) and a mail server typed in the dashboard are
checked before the send, and the send itself runs under ``guarded_resolution``: every name
lookup it makes is judged, and the connection goes to the address that was judged.

The alert itself is a payload (built by ``services/notifications.py``); this module only renders
it (subject line, plain text and HTML) and sends it. Templates are fixed, so nothing a user
types is ever evaluated as a template.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any

import certifi
import jinja2

from app.engine.address_policy import (
    Refused,
    Unresolved,
    guard,
    guarded_resolution,
    literal_refusal,
)
from app.engine.probe import USER_AGENT, ProbeRequest, probe
from app.models.channel import KIND_APPRISE, KIND_EMAIL, KIND_WEBHOOK
from app.models.history import FAILED_BLOCKED_TARGET, OK

log = logging.getLogger(__name__)

TIMEOUT_SEC = 10
SIGNATURE_HEADER = "X-Upcron-Signature"
ERROR_MAX = 500  # characters of an error kept in the log
_RESPONSE_SNIPPET = 200
# Headers Upcron sets on a webhook; a custom header of the same name (any case) gives way.
_OWN_HEADERS = ("content-type", "x-upcron-event", "x-upcron-delivery", SIGNATURE_HEADER.lower())


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # starttls | tls | none
    username: str | None
    password: str | None = field(repr=False)  # never in a log line, even by accident
    sender: str
    # The target policy applies to a server typed in the dashboard; the operator's
    # UPCRON_SMTP_HOST (a local relay, often) is trusted as configured.
    guarded: bool = False


@dataclass(frozen=True)
class Context:
    """What a send needs besides the channel: the address policy and the e-mail server."""

    policy: str
    ca_bundle: str | None
    smtp: SmtpSettings | None


@dataclass(frozen=True)
class Sent:
    """The outcome of one attempt. ``final``: retrying cannot help (a refused address, no
    e-mail server set up, a URL Apprise no longer reads)."""

    ok: bool
    error: str | None = None
    final: bool = False


@dataclass(frozen=True)
class Message:
    title: str
    text: str
    html: str


def send(kind: str, config: dict[str, Any], payload: dict[str, Any], context: Context) -> Sent:
    """Send ``payload`` through one channel of ``kind`` configured by ``config``; never raises
    for anything the receiving side does."""
    try:
        if kind == KIND_WEBHOOK:
            return _send_webhook(config, payload, context)
        if kind == KIND_EMAIL:
            return _send_email(config, payload, context)
        if kind == KIND_APPRISE:
            return _send_apprise(config, payload, context)
        return Sent(False, f"Unknown channel kind {kind!r}", final=True)
    except Exception:
        log.exception("sending a %s notification failed unexpectedly", kind)
        return Sent(False, "Internal error while sending; the worker log has the details")


# --- messages --------------------------------------------------------------------------------


def _when(value: str | None) -> str:
    if not value:
        return ""
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S UTC")


def _lines(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """The facts of an alert as (label, value), shared by the text and HTML renderings."""
    facts = [("Status", payload.get("status") or ""), ("When", _when(payload.get("occurred_at")))]
    incident = payload.get("incident")
    if incident:
        facts.append(("Incident", f"{incident['title']} ({incident['status']})"))
        update = incident.get("update")
        if update:
            facts.append(("Update", update["message"]))
    return [(label, value) for label, value in facts if value]


def compose(payload: dict[str, Any]) -> Message:
    """The subject line, plain text and HTML of an alert."""
    title = payload["summary"]
    detail = payload.get("detail")
    link = payload["subject"].get("url")
    text = [title, ""]
    if detail:
        text += [detail, ""]
    text += [f"{label}: {value}" for label, value in _lines(payload)]
    if link:
        text += ["", f"Open in Upcron: {link}"]
    manage = payload.get("links", {}).get("notifications")
    if manage:
        text += ["", "--", f"Sent by Upcron. Notification settings: {manage}"]
    html = _HTML.render(title=title, detail=detail, facts=_lines(payload), link=link, manage=manage)
    return Message(title=title, text="\n".join(text) + "\n", html=html)


_HTML = jinja2.Environment(autoescape=True).from_string(
    """<!doctype html>
<html><body style="font-family: system-ui, sans-serif; line-height: 1.5; color: #1b1f24">
<h1 style="font-size: 1.2rem">{{ title }}</h1>
{% if detail %}<p>{{ detail }}</p>{% endif %}
<table style="border-collapse: collapse">
{% for label, value in facts %}
<tr><th style="text-align: left; padding: 2px 12px 2px 0">{{ label }}</th><td>{{ value }}</td></tr>
{% endfor %}
</table>
{% if link %}<p><a href="{{ link }}">Open in Upcron</a></p>{% endif %}
{% if manage %}<p style="color: #5b6470; font-size: .85rem">
Sent by Upcron. <a href="{{ manage }}">Notification settings</a></p>{% endif %}
</body></html>
"""
)


# --- webhooks --------------------------------------------------------------------------------


def sign(secret: str, body: bytes) -> str:
    """The signature header value: HMAC-SHA256 of the exact body bytes, keyed by the secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _send_webhook(config: dict[str, Any], payload: dict[str, Any], context: Context) -> Sent:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {
        name: value
        for name, value in (config.get("headers") or {}).items()
        if name.lower() not in _OWN_HEADERS
    }
    headers["Content-Type"] = "application/json"
    headers["X-Upcron-Event"] = payload["event"]
    delivery = payload.get("delivery", {}).get("id")
    if delivery:
        headers["X-Upcron-Delivery"] = delivery
    if config.get("secret"):
        headers[SIGNATURE_HEADER] = sign(config["secret"], body)
    result = probe(
        ProbeRequest(
            url=config["url"],
            method="POST",
            headers=headers,
            body=body,
            timeout_ms=TIMEOUT_SEC * 1000,
            follow_redirects=False,  # a redirected POST would arrive as a GET, or not at all
            keep_body_bytes=_RESPONSE_SNIPPET,
            policy=context.policy,
            ca_bundle=context.ca_bundle,
        )
    )
    if result.outcome == FAILED_BLOCKED_TARGET:
        return Sent(False, result.error, final=True)
    if result.outcome != OK:
        return Sent(False, result.error)
    if result.status_code is not None and 200 <= result.status_code < 300:
        return Sent(True)
    answer = result.body.decode("utf-8", errors="replace").strip()
    error = f"HTTP {result.status_code}" + (f": {answer}" if answer else "")
    return Sent(False, error[:ERROR_MAX])


# --- e-mail ----------------------------------------------------------------------------------


def _tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=certifi.where())
    if ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)
    return context


def _email(addresses: list[str], payload: dict[str, Any], smtp: SmtpSettings) -> EmailMessage:
    message = compose(payload)
    email = EmailMessage()
    email["Subject"] = f"[Upcron] {message.title}"
    email["From"] = smtp.sender
    email["To"] = ", ".join(addresses)
    email["Date"] = formatdate(usegmt=True)
    email["Message-ID"] = make_msgid(domain=parseaddr(smtp.sender)[1].rpartition("@")[2])
    email["X-Upcron-Event"] = payload["event"]
    email["User-Agent"] = USER_AGENT
    email.set_content(message.text)
    email.add_alternative(message.html, subtype="html")
    return email


def _smtp_error(smtp: SmtpSettings, exc: Exception) -> str:
    where = f"E-mail through {smtp.host}:{smtp.port} failed"
    if isinstance(exc, smtplib.SMTPResponseException):
        answer = exc.smtp_error
        if isinstance(answer, bytes):
            answer = answer.decode("utf-8", errors="replace")
        return f"{where}: the server answered {exc.smtp_code} {answer}"[:ERROR_MAX]
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = ", ".join(
            f"{address} ({code})" for address, (code, _msg) in exc.recipients.items()
        )
        return f"{where}: every recipient was refused: {refused}"[:ERROR_MAX]
    if isinstance(exc, TimeoutError):
        return f"{where}: timed out after {TIMEOUT_SEC} s"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"{where}: certificate verify failed: {exc.verify_message}"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{where}: {exc.strerror}"
    return f"{where}: {exc or type(exc).__name__}"[:ERROR_MAX]


def _deliver(smtp: SmtpSettings, tls: ssl.SSLContext | None, email: EmailMessage) -> dict:
    """Hand ``email`` to the server; the recipients it refused."""
    client: smtplib.SMTP
    if smtp.security == "tls":
        client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=TIMEOUT_SEC, context=tls)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=TIMEOUT_SEC)
    with client:
        if smtp.security == "starttls":
            client.starttls(context=tls)
        if smtp.username:
            client.login(smtp.username, smtp.password or "")
        return client.send_message(email)


def _send_email(config: dict[str, Any], payload: dict[str, Any], context: Context) -> Sent:
    smtp = context.smtp
    if smtp is None:
        return Sent(
            False,
            "No e-mail server is set up: set UPCRON_SMTP_HOST, or configure SMTP under "
            "Notifications on the dashboard.",
            final=True,
        )
    email = _email(config["addresses"], payload, smtp)
    tls = _tls_context(context.ca_bundle) if smtp.security != "none" else None
    policy = context.policy if smtp.guarded else "open"
    try:
        guard(smtp.host, smtp.port, policy)
        with guarded_resolution(policy):  # smtplib connects to the address judged
            refused = _deliver(smtp, tls, email)
    except Refused as exc:
        where = f"E-mail through {smtp.host}:{smtp.port}"
        return Sent(False, f"{where}: {exc}"[:ERROR_MAX], final=not isinstance(exc, Unresolved))
    except (smtplib.SMTPException, OSError) as exc:
        return Sent(False, _smtp_error(smtp, exc))
    if refused:
        # Accepted for some recipients: sending again would repeat it to those.
        return Sent(True, f"Refused for {', '.join(sorted(refused))}"[:ERROR_MAX])
    return Sent(True)


# --- Apprise ---------------------------------------------------------------------------------


@functools.cache
def _apprise():
    """Apprise, imported on first use: every process imports this module, few send through
    Apprise, and its import is a noticeable part of a process's start-up."""
    import apprise

    return apprise, apprise.AppriseAsset(app_id="Upcron", app_desc="Upcron alerts")


def apprise_plugin(url: str):
    """Apprise's notifier for ``url``, or None when Apprise does not read it."""
    apprise, asset = _apprise()
    return apprise.Apprise.instantiate(url, asset=asset)


def _host(plugin) -> str | None:
    """The host an Apprise URL connects to, if it names one.

    Only services whose URL carries a host (Apprise's "host" token) connect to it; for the
    others (slack://, discord://…) that part of the URL is a token and they call their
    vendor's fixed public API, whose lookups ``guarded_resolution`` judges during the send.
    """
    host = getattr(plugin, "host", None)
    return host if host and "host" in getattr(plugin, "template_tokens", {}) else None


def apprise_literal_refusal(plugin, policy: str) -> str | None:
    """Why the policy refuses the host of an Apprise URL without a lookup (when it is saved)."""
    host = _host(plugin)
    return literal_refusal(host, policy) if host else None


def _check_host(plugin, policy: str) -> None:
    """Refuse the host an Apprise URL names before Apprise is called (see ``guard``)."""
    host = _host(plugin)
    if host:
        guard(host, getattr(plugin, "port", None) or 0, policy)


def _send_apprise(config: dict[str, Any], payload: dict[str, Any], context: Context) -> Sent:
    plugin = apprise_plugin(config["url"])
    if plugin is None:
        return Sent(False, "Apprise cannot read this channel's URL", final=True)
    apprise, asset = _apprise()
    notifier = apprise.Apprise(asset=asset)
    notifier.add(plugin)
    message = compose(payload)
    try:
        _check_host(plugin, context.policy)
        with guarded_resolution(context.policy) as refusals:
            result = notifier.notify(
                title=message.title,
                body=message.text,
                body_format=apprise.NotifyFormat.TEXT,
                # Upcron's severities are Apprise's notification types: info, success,
                # warning, failure.
                notify_type=payload.get("severity") or "info",
                timeout=TIMEOUT_SEC * 2,
            )
    except Refused as exc:
        refusals = [exc]
    if refusals:  # Apprise reports these as mere connection errors: say why
        return Sent(
            False, str(refusals[0])[:ERROR_MAX], final=not isinstance(refusals[0], Unresolved)
        )
    if result:
        return Sent(True)
    problems = [entry.message for entry in result.logs() if entry.level in ("WARNING", "ERROR")]
    return Sent(False, (" ".join(problems) or "Apprise could not deliver it")[:ERROR_MAX])
