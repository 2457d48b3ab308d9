"""Providers' webhook secrets, encrypted at rest.

A webhook secret must be usable (keepdown signs every webhook with it), so it cannot be
hashed like an API key; but a database dump or backup must not reveal it. The registry keeps
only a Fernet token (AES-128-CBC with HMAC-SHA256, from ``cryptography``) of each secret. The
key comes from the environment variable named by ``provider_secret_key_env`` (production: a
key the operator keeps in their secret manager, ``keepdown provider new-key`` prints one), or
else from ``<data_dir>/provider-secrets.key`` (created once, mode 0600: the embedded default,
where database and key sit on the same disk anyway).

The plain secret exists in memory only when it is created (shown once, then sealed) and when
a webhook is signed (:meth:`SecretBox.open`). Rotating the key: see docs/providers.md.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from keepdown import files
from keepdown.errors import ConfigurationError
from keepdown.settings import Settings

__all__ = ["SecretBox", "new_key", "secret_box"]


def new_key() -> str:
    """A fresh key for ``provider_secret_key_env``."""
    return Fernet.generate_key().decode("ascii")


class SecretBox:
    """Seals and opens webhook secrets with one key."""

    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.encode("ascii"))
        except (ValueError, UnicodeEncodeError) as exc:
            raise ConfigurationError(
                "the provider secret key is not a Fernet key (32 bytes, URL-safe base64); "
                "make one with `keepdown provider new-key`"
            ) from exc

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise ConfigurationError(
                "a provider's webhook secret cannot be decrypted with the configured key "
                "(provider_secret_key_env changed?); set the old key or give the provider a "
                "new secret"
            ) from exc


def secret_box(settings: Settings) -> SecretBox:
    """The box of this installation (environment variable, or the key file in the data dir)."""
    from_env = settings.secret("provider_secret_key_env")
    if from_env:
        return SecretBox(from_env)
    path = Path(settings.data_path) / "provider-secrets.key"
    if not path.exists():
        files.private_dir(path.parent)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(new_key())
    return SecretBox(path.read_text(encoding="utf-8").strip())
