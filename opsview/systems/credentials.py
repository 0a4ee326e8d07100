"""Connector credentials, encrypted at rest with a key from the environment.

The key is ``OPSVIEW_CREDENTIALS_KEY`` (a Fernet key). Production refuses to
start without it; development derives a stable key from ``SECRET_KEY`` so a
laptop needs no setup. Credentials are never shown back in full: pages show a
masked hint of each value.
"""

import base64
import hashlib

import orjson
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

GENERATE_HINT = (
    "generate one with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)


def _fernet():
    key = settings.OPSVIEW_CREDENTIALS_KEY
    if not key:
        # Settings refuse to start production without a key, so this is a development setup.
        key = base64.urlsafe_b64encode(hashlib.sha256(f"credentials:{settings.SECRET_KEY}".encode()).digest())
    try:
        return Fernet(key)
    except ValueError:
        raise ImproperlyConfigured(f"OPSVIEW_CREDENTIALS_KEY is not a valid Fernet key; {GENERATE_HINT}") from None


class CredentialsUnreadable(Exception):
    """The stored credentials were encrypted with another key."""


def encrypt(values):
    """Encrypt a dict of credential values to a token for storage."""
    return _fernet().encrypt(orjson.dumps(values)).decode()


def decrypt(token):
    """The dict of credential values in ``token``; ``{}`` for none stored."""
    if not token:
        return {}
    try:
        return orjson.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise CredentialsUnreadable(
            "The stored credentials cannot be decrypted with the current OPSVIEW_CREDENTIALS_KEY; enter them again."
        ) from None


def mask(value):
    """A hint that tells values apart without revealing them: the last four characters at most."""
    value = str(value)
    if len(value) <= 8:
        return "••••"
    return "••••" + value[-4:]
