"""Signing generic webhooks as the Standard Webhooks specification says (standardwebhooks.com).

A receiver verifies with any Standard Webhooks library: the headers ``webhook-id``, ``webhook-timestamp``
and ``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``), keyed with the channel's
``whsec_`` secret (the base64 after the prefix is the key's bytes).
"""

import base64
import binascii
import hashlib
import hmac
import secrets

PREFIX = "whsec_"


def new_secret():
    """A fresh signing secret: ``whsec_`` and 32 random bytes in base64, shown once to the admin."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_problem(secret):
    """Why ``secret`` cannot sign (a sentence), or "" when it can."""
    if not secret.startswith(PREFIX):
        return f"A signing secret starts with '{PREFIX}'."
    try:
        key = base64.b64decode(secret[len(PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return f"After '{PREFIX}' a signing secret is base64."
    if not 24 <= len(key) <= 64:
        return "A signing secret holds 24 to 64 bytes."
    return ""


def signature(secret, message_id, timestamp, body):
    """The ``webhook-signature`` header's value for ``body`` (bytes) sent as ``message_id`` at ``timestamp``."""
    key = base64.b64decode(secret.removeprefix(PREFIX))
    signed = f"{message_id}.{int(timestamp)}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(secret, message_id, timestamp, body):
    """The three Standard Webhooks headers for one send."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": signature(secret, message_id, timestamp, body),
    }
