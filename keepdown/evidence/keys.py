"""The key that signs keepdown's evidence: event-log checkpoints and transparency reports.

It is an Ed25519 key pair in the same files as the keys that sign bank exports
(``keepdown bank keygen``, :mod:`keepdown.banks.signing`): a PKCS#8 PEM private key (mode
0600) and the public key beside it (``<name>.pub``). The ``evidence_signing_key`` setting
names the private key file; when it is empty, keepdown keeps one in
``<data_dir>/evidence-signing.pem``, created on first use. Every process that signs (the
workers recording checkpoints, the API and CLI signing reports) must read the same file: on
several machines, point the setting at one key deployed to each.

Creation is atomic: the pair is written to a temporary name and linked into place, so two
processes starting at once end up with one key, and no process ever reads half a key.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from keepdown.banks.signing import (
    generate_keypair,
    public_key_raw,
    raw_fingerprint,
    sign_bytes,
)
from keepdown.errors import NotFound

__all__ = ["SigningKey"]


@dataclass(frozen=True)
class SigningKey:
    """A private key file and its public key (raw 32 bytes)."""

    private_path: Path
    public: bytes

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the raw public key (hex): how reports and checkpoints name the key."""
        return raw_fingerprint(self.public)

    def sign(self, message: bytes, *, context: bytes) -> bytes:
        return sign_bytes(message, self.private_path, context=context)

    def public_pem(self) -> str:
        path = self.private_path.with_suffix(".pub")
        if path.exists():
            return path.read_text(encoding="ascii")
        return _pem(self.public)

    @classmethod
    def load(cls, path: Path, *, create: bool = False) -> SigningKey:
        """The key at ``path``; with ``create``, a new pair is made there if there is none."""
        path = path.expanduser()
        if not path.exists():
            if not create:
                raise NotFound(f"no signing key at {path}", path=str(path))
            _create(path)
        return cls(private_path=path, public=public_key_raw(path))


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".keygen-") as tmp:
        private, public = Path(tmp) / "key.pem", Path(tmp) / "key.pub"
        generate_keypair(private, public)
        try:
            os.link(private, path)  # atomic: fails if another process made one meanwhile
        except FileExistsError:
            return
        public_path = path.with_suffix(".pub")
        if not public_path.exists():
            os.link(public, public_path)


def _pem(raw: bytes) -> str:
    """SubjectPublicKeyInfo PEM of a raw Ed25519 key (the fixed 12-byte DER prefix + key)."""
    import base64

    der = bytes.fromhex("302a300506032b6570032100") + raw
    body = base64.b64encode(der).decode("ascii")
    return f"-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n"
