"""Encryption at rest of integration secrets (webhook secrets, API credentials).

The key never lives in the database: it comes from the Odoo server configuration
option ``integration_encryption_key`` or else the environment variable
``INTEGRATION_ENCRYPTION_KEY``. Several comma-separated Fernet keys enable
rotation: the first one encrypts, all of them decrypt (:class:`MultiFernet`).
"""

import functools
import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from .exceptions import EncryptionKeyMissing

CONFIG_OPTION = "integration_encryption_key"
ENV_VARIABLE = "INTEGRATION_ENCRYPTION_KEY"


def configured_keys():
    """The raw key string from the server configuration or the environment."""
    from odoo.tools import config

    return (config.get(CONFIG_OPTION) or os.environ.get(ENV_VARIABLE) or "").strip()


@functools.lru_cache(maxsize=4)
def _multifernet(raw_keys):
    keys = [key.strip() for key in raw_keys.split(",") if key.strip()]
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as err:
        raise EncryptionKeyMissing(
            f"{CONFIG_OPTION} is not a valid Fernet key list "
            "(url-safe base64 of 32 bytes, comma-separated)"
        ) from err


def get_cipher(raw_keys=None):
    """The :class:`MultiFernet` of the configured keys.

    :raises EncryptionKeyMissing: when no key is configured
    """
    raw_keys = configured_keys() if raw_keys is None else raw_keys.strip()
    if not raw_keys:
        raise EncryptionKeyMissing(
            f"No encryption key configured: set {CONFIG_OPTION} in the Odoo "
            f"configuration file or the {ENV_VARIABLE} environment variable "
            '(generate one with `python -c "from cryptography.fernet import '
            'Fernet; print(Fernet.generate_key().decode())"`).'
        )
    return _multifernet(raw_keys)


def encrypt(plaintext, raw_keys=None):
    """Encrypt ``plaintext`` (str) with the first key; returns an ASCII token."""
    return get_cipher(raw_keys).encrypt(plaintext.encode()).decode()


def decrypt(token, raw_keys=None):
    """Decrypt a token written by :func:`encrypt` with any configured key.

    :raises EncryptionKeyMissing: when no configured key opens the token
    """
    try:
        return get_cipher(raw_keys).decrypt(token.encode()).decode()
    except InvalidToken as err:
        raise EncryptionKeyMissing(
            "A stored secret cannot be decrypted with the configured keys "
            f"({CONFIG_OPTION}); was the key replaced instead of rotated?"
        ) from err


def rotate(token, raw_keys=None):
    """Re-encrypt ``token`` with the first (newest) key."""
    try:
        return get_cipher(raw_keys).rotate(token.encode()).decode()
    except InvalidToken as err:
        raise EncryptionKeyMissing(
            "A stored secret cannot be decrypted with the configured keys."
        ) from err
