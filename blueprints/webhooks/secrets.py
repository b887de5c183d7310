"""Webhook signing secrets are stored encrypted (Fernet: AES-128-CBC with HMAC-SHA256).

`WEBHOOK_SECRET_KEYS` lists Fernet keys: the first encrypts, every one decrypts, so a new key
goes first and the old ones stay until `manage.py reencrypt-webhook-secrets` has rewritten every
secret with the new one. A value written before encryption existed (plain `whsec_...`) is still
read, and the command encrypts it.
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

PLAIN_SECRET_TAG = "whsec_"
ENCRYPTED_MAX_LENGTH = 255  # a Fernet token of a 50-character secret is 164 characters


class SecretKeysError(RuntimeError):
    """No key in WEBHOOK_SECRET_KEYS decrypts a stored secret."""


def _fernet() -> MultiFernet:
    keys = current_app.config["WEBHOOK_SECRET_KEYS"]
    return MultiFernet([Fernet(key) for key in keys])


def encrypt_secret(secret: str) -> str:
    """`secret` encrypted with the first of WEBHOOK_SECRET_KEYS, as it is stored."""
    return _fernet().encrypt(secret.encode("ascii")).decode("ascii")


def decrypt_secret(stored: str) -> str:
    """The signing secret a stored value holds (encrypted with any of the keys, or plain)."""
    if stored.startswith(PLAIN_SECRET_TAG):
        return stored
    try:
        return _fernet().decrypt(stored.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise SecretKeysError(
            "no key in WEBHOOK_SECRET_KEYS decrypts a webhook secret: keep the old key in the "
            "list until `manage.py reencrypt-webhook-secrets` has run"
        ) from None


def reencrypted(stored: str) -> str:
    """A stored value rewritten with the first key (plain values encrypted)."""
    if stored.startswith(PLAIN_SECRET_TAG):
        return encrypt_secret(stored)
    return _fernet().rotate(stored.encode("ascii")).decode("ascii")
