"""Putting a rendered message on the wire, and saying what came back without repeating a secret."""

import smtplib
from dataclasses import dataclass
from email.utils import parseaddr

import httpx
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection


@dataclass(frozen=True)
class Answer:
    ok: bool
    status: int | None = None  # HTTP or SMTP status, when there was one
    error: str = ""
    code: str = ""  # the kind of failure, for grouping: http_500, timeout, unreachable, smtp_550…
    permanent: bool = False  # retrying cannot help (no address to send to)


def _cut(text, limit=300):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def post_json(url, body, headers=None):
    """POST ``body`` (bytes) as JSON; a 2xx answer is delivered, anything else is a failed attempt.

    The stored error names the host, never the URL: a chat webhook's path is its credential.
    """
    host = httpx.URL(url).host
    try:
        response = httpx.post(
            url,
            content=body,
            headers={"Content-Type": "application/json", "User-Agent": "opsview-alerts", **(headers or {})},
            timeout=settings.NOTIFY_TIMEOUT_SECONDS,
            follow_redirects=False,
        )
    except httpx.TimeoutException:
        return Answer(False, error=f"{host} did not answer within {settings.NOTIFY_TIMEOUT_SECONDS} s", code="timeout")
    except httpx.HTTPError as error:
        return Answer(False, error=f"{host} could not be reached: {type(error).__name__}", code="unreachable")
    if response.is_success:
        return Answer(True, response.status_code)
    said = _cut(response.text) if response.text else response.reason_phrase
    return Answer(
        False, response.status_code, f"{host} answered {response.status_code}: {said}", f"http_{response.status_code}"
    )


def sender(name, white_label=False):
    """DEFAULT_FROM_EMAIL's address under ``name``, so the inbox shows whose alert it is; "via opsview" unless
    a partner sends it under its own brand (``white_label``)."""
    # Django encodes a display name that is not ASCII; quotes and line breaks could not stay in one.
    clean = " ".join(name.replace('"', "").replace("\\", "").split())
    via = "" if white_label else " via opsview"
    return f'"{clean}{via}" <{parseaddr(settings.DEFAULT_FROM_EMAIL)[1]}>'


def send_email(to, subject, text, html, from_name, white_label=False):
    """Send one e-mail through Django's mail backend (console in development, SMTP from the environment)."""
    if not to:
        return Answer(False, error="The user has no e-mail address.", code="no_email_address", permanent=True)
    mail = EmailMultiAlternatives(subject, text, sender(from_name, white_label), [to])
    mail.attach_alternative(html, "text/html")
    try:
        get_connection(fail_silently=False).send_messages([mail])
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        code = codes[0] if codes else None
        return Answer(False, code, f"The mail server refused {to}", f"smtp_{code or 'refused'}")
    except smtplib.SMTPResponseException as error:
        said = _cut(
            error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
        )
        return Answer(
            False, error.smtp_code, f"The mail server answered {error.smtp_code}: {said}", f"smtp_{error.smtp_code}"
        )
    except (smtplib.SMTPException, OSError) as error:
        message = f"The mail server could not be reached: {type(error).__name__}: {_cut(error)}"
        return Answer(False, error=message, code="mail_server_unreachable")
    return Answer(True)
