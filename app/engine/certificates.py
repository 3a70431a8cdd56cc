"""The peer certificate of a TLS check: what it says, when it expires, why it was refused.

Every check that shakes hands (https monitors and cron jobs, tcp monitors with ``tls``)
records the certificate the server presented, parsed from its DER form: that form is there
even when verification is off, where ``getpeercert()`` answers an empty dict. The fingerprint
(SHA-256 of the DER) tells a renewed certificate from the old one, so warnings and
notifications start afresh for it.

Expiry is judged in whole thresholds of days: the monitor's warning (``tls_expiry_warn_days``,
0 = off), then 7, 3 and 1 days, each announced once per certificate.

cryptography's x509 module is imported by the functions that parse, not here: it is some
8 MiB of every process that loads it, and the web and scheduler processes import this
module (for ``Certificate``) without ever parsing a certificate.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography import x509

# The fixed thresholds after the monitor's own warning, in days.
THRESHOLDS = (7, 3, 1)
DAY = timedelta(days=1)
# What is kept of a certificate a target chose: a hostile one may carry thousands of names.
NAMES_KEPT = 100
NAME_CHARS = 500
NAMES_TOLD = 5  # names in a hostname mismatch's reason

# OpenSSL's verification results (X509_V_ERR_*) that have a reason of their own.
_EXPIRED = 10
_NOT_YET_VALID = 9
_HOSTNAME_MISMATCH = (62, 64)  # host name, IP address
_SELF_SIGNED = 18
_UNKNOWN_ISSUER = (2, 19, 20, 21)  # no issuer certificate, self-signed in chain, no local one


@dataclass(frozen=True)
class Certificate:
    """The facts of one certificate that people act on."""

    subject: str  # RFC 4514, such as "CN=example.com,O=Example"
    issuer: str
    sans: tuple[str, ...]  # DNS names and IP addresses it is for
    not_before: datetime  # aware, UTC
    expires_at: datetime  # aware, UTC
    fingerprint: str  # SHA-256 of the DER form, lower-case hex


def parse(der: bytes | None) -> Certificate | None:
    """The certificate in ``der``; None when there is none or it cannot be read (a check
    never fails over what it only records)."""
    if not der:
        return None
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    try:
        cert = x509.load_der_x509_certificate(der)
        subject, issuer = cert.subject.rfc4514_string(), cert.issuer.rfc4514_string()
    except ValueError:
        return None
    return Certificate(
        subject=subject[:NAME_CHARS],
        issuer=issuer[:NAME_CHARS],
        sans=_names(cert),
        not_before=cert.not_valid_before_utc,
        expires_at=cert.not_valid_after_utc,
        fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
    )


def _names(cert: x509.Certificate) -> tuple[str, ...]:
    from cryptography import x509

    try:
        extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except (x509.ExtensionNotFound, ValueError):
        return ()
    names = extension.value.get_values_for_type(x509.DNSName)
    addresses = extension.value.get_values_for_type(x509.IPAddress)
    every = [*names, *(str(address) for address in addresses)]
    return tuple(name[:NAME_CHARS] for name in every[:NAMES_KEPT])


def common_name(distinguished_name: str) -> str:
    """The CN of an RFC 4514 name, or the whole name when it has none."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        name = x509.Name.from_rfc4514_string(distinguished_name)
        found = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    except ValueError:
        return distinguished_name
    return str(found[0].value) if found else distinguished_name


def refusal(error: ssl.SSLCertVerificationError, certificate: Certificate | None) -> str:
    """Why verification refused the certificate, in the words people search for: expired
    on a date, a host name it is not for, an issuer nobody trusts."""
    code = error.verify_code
    if certificate is not None:
        if code == _EXPIRED:
            return f"certificate expired on {certificate.expires_at:%Y-%m-%d}"
        if code == _NOT_YET_VALID:
            return f"certificate is not valid before {certificate.not_before:%Y-%m-%d}"
        if code in _HOSTNAME_MISMATCH:
            names = ", ".join(certificate.sans[:NAMES_TOLD]) or common_name(certificate.subject)
            if len(certificate.sans) > NAMES_TOLD:
                names += " and more"
            return f"hostname mismatch: certificate is for {names}"
        if code == _SELF_SIGNED:
            return f"unknown issuer: {common_name(certificate.issuer)} (a self-signed certificate)"
        if code in _UNKNOWN_ISSUER:
            return f"unknown issuer: {common_name(certificate.issuer)}"
    return f"certificate verify failed: {error.verify_message}"


def expiry(expires_at: datetime, now: datetime) -> str:
    """ "The certificate expires on 2026-12-11, in 5 days" (or expired on, or in less than a
    day); days are rounded to the nearest whole one."""
    left = expires_at - now
    day = f"{expires_at:%Y-%m-%d}"
    if left <= timedelta(0):
        return f"The certificate expired on {day}"
    if left < DAY:
        return f"The certificate expires on {day}, in less than a day"
    days = round(left / DAY)
    return f"The certificate expires on {day}, in {days} day{'' if days == 1 else 's'}"


def certificate_warning(
    warn_days: int, certificate: Certificate | None, now: datetime
) -> str | None:
    """The warning of a certificate that expires within ``warn_days`` days (0: never
    warn), as a sentence; None when there is nothing to warn about. It makes the monitor
    degraded (``checks.warning``, kind "certificate")."""
    if not warn_days or certificate is None:
        return None
    if certificate.expires_at - now > warn_days * DAY:
        return None
    return expiry(certificate.expires_at, now)


def thresholds(warn_days: int) -> tuple[int, ...]:
    """The thresholds announced, largest first: the warning, then each of 7, 3 and 1 days
    below it; none when the warning is off."""
    if not warn_days:
        return ()
    return (warn_days, *(days for days in THRESHOLDS if days < warn_days))


def crossed(warn_days: int, expires_at: datetime, now: datetime) -> tuple[int, ...]:
    """The thresholds an unexpired certificate has crossed by ``now``, largest first. An
    expired one crosses none: with verification on it is down, and that is its alert."""
    left = expires_at - now
    if left <= timedelta(0):
        return ()
    return tuple(days for days in thresholds(warn_days) if left <= days * DAY)
