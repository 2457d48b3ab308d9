"""Detached Ed25519 signatures over exported bank files.

The scheme (also in docs/formats.md, with the openssl commands a peer can verify with):

1. Hash the file's bytes with SHA-512, reading it in 1 MiB chunks (a million-line export is
   never held in memory).
2. Sign ``CONTEXT + digest`` with Ed25519, where ``CONTEXT`` is the 29 bytes
   ``b"keepdown-export-signature-v1\\x00"``; the prefix keeps a keepdown signature from being
   valid for any other protocol that signs 64-byte messages with the same key.
3. Write the 64-byte signature, base64-encoded on one line, to ``<file>.sig``.

Keys are PEM files: PKCS#8 for the private key (written with mode 0600) and
SubjectPublicKeyInfo for the public key, the forms ``openssl genpkey -algorithm ed25519``
writes. A public key may also be given as the raw 32 bytes in base64 on one line.

The same keys sign other records (the event log's checkpoints and transparency reports,
keepdown.evidence): :func:`sign_bytes` and :func:`verify_bytes` sign a message under a
*context* of the caller's, so a signature made for one kind of record is never valid for
another (each context names its record and ends with a NUL byte, like :data:`CONTEXT`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from keepdown.errors import Conflict, InvalidInput, NotFound, SignatureError

__all__ = [
    "CONTEXT",
    "file_digest",
    "generate_keypair",
    "parse_public_key",
    "public_key_fingerprint",
    "public_key_raw",
    "raw_fingerprint",
    "sign_bytes",
    "sign_file",
    "signature_path_for",
    "verify_bytes",
    "verify_file",
]

CONTEXT = b"keepdown-export-signature-v1\x00"
_CHUNK = 1 << 20
_SIGNATURE_BYTES = 64


def signature_path_for(path: Path) -> Path:
    """Where the detached signature of ``path`` lives: the same name plus ``.sig``."""
    return path.with_suffix(path.suffix + ".sig")


def file_digest(path: Path) -> bytes:
    """SHA-512 of the file's bytes, read in chunks."""
    digest = hashlib.sha512()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    except FileNotFoundError:
        raise NotFound(f"no file at {path}", path=str(path)) from None
    return digest.digest()


def generate_keypair(private_path: Path, public_path: Path, *, overwrite: bool = False) -> None:
    """Write a new Ed25519 key pair as PEM; the private key file is created with mode 0600."""
    for target in (private_path, public_path):
        if target.exists() and not overwrite:
            raise Conflict(f"{target} exists; refusing to overwrite a key", path=str(target))
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if overwrite:
        private_path.unlink(missing_ok=True)
    # Create with 0600 from the start: there is no moment when the key is world-readable.
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_pem)
    public_path.write_bytes(public_pem)


def _read_key_file(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"no {what} key file at {path}", path=str(path)) from None


def _load_private(path: Path) -> Ed25519PrivateKey:
    data = _read_key_file(path, "private")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"{path} is not an unencrypted PEM private key", path=str(path)) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput(f"{path} is not an Ed25519 private key", path=str(path))
    return key


def _load_public(path: Path) -> Ed25519PublicKey:
    data = _read_key_file(path, "public")
    try:
        raw = parse_public_key(data)
    except InvalidInput as exc:
        raise InvalidInput(f"{path} is {exc.message}", path=str(path)) from exc
    return Ed25519PublicKey.from_public_bytes(raw)


def public_key_fingerprint(public_key_path: Path) -> str:
    """SHA-256 (hex) of the raw 32-byte public key: a short name to compare keys by."""
    return raw_fingerprint(_raw(_load_public(public_key_path)))


def raw_fingerprint(raw_public_key: bytes) -> str:
    """SHA-256 (hex) of a raw 32-byte public key (:func:`public_key_fingerprint`)."""
    return hashlib.sha256(raw_public_key).hexdigest()


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_raw(private_key_path: Path) -> bytes:
    """The raw 32-byte public key of a private key file."""
    return _raw(_load_private(private_key_path).public_key())


def parse_public_key(data: bytes) -> bytes:
    """The raw 32 bytes of a public key given as PEM, or as the raw key in base64."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            key = serialization.load_pem_public_key(data)
        else:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(data.strip(), validate=True))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise InvalidInput("neither a PEM public key nor a base64 raw Ed25519 key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput("not an Ed25519 public key")
    return _raw(key)


def sign_bytes(message: bytes, private_key_path: Path, *, context: bytes) -> bytes:
    """The 64-byte Ed25519 signature of ``context + message`` (module docstring)."""
    _check_context(context)
    return _load_private(private_key_path).sign(context + message)


def verify_bytes(message: bytes, signature: bytes, public_key: bytes, *, context: bytes) -> None:
    """Check a :func:`sign_bytes` signature under a raw public key; SignatureError if not."""
    _check_context(context)
    try:
        key = Ed25519PublicKey.from_public_bytes(public_key)
    except ValueError as exc:
        raise SignatureError("the public key is not a raw 32-byte Ed25519 key") from exc
    if len(signature) != _SIGNATURE_BYTES:
        raise SignatureError("a signature is 64 bytes")
    try:
        key.verify(signature, context + message)
    except InvalidSignature:
        raise SignatureError(
            "the signature does not match: the record was changed, or it was signed with "
            "another key"
        ) from None


def _check_context(context: bytes) -> None:
    if not context.endswith(b"\x00") or context == CONTEXT:
        raise ValueError("a signing context names its record, ends with NUL, and is not CONTEXT")


def sign_file(path: Path, private_key_path: Path) -> Path:
    """Write the detached signature of ``path`` to ``<path>.sig`` and return that path."""
    key = _load_private(private_key_path)
    signature = key.sign(CONTEXT + file_digest(path))
    target = signature_path_for(path)
    target.write_text(base64.b64encode(signature).decode("ascii") + "\n", encoding="ascii")
    return target


def _read_signature(signature_path: Path) -> bytes:
    try:
        text = signature_path.read_bytes().strip()
    except FileNotFoundError:
        raise SignatureError(
            f"no signature file at {signature_path}", path=str(signature_path)
        ) from None
    try:
        signature = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        signature = b""
    if len(signature) != _SIGNATURE_BYTES:
        raise SignatureError(
            f"{signature_path} is not a signature (expected 64 bytes in base64 on one line)",
            path=str(signature_path),
        )
    return signature


def verify_file(path: Path, public_key_path: Path, signature_path: Path | None = None) -> None:
    """Check ``path`` against its detached signature; raise :class:`SignatureError` if not."""
    key = _load_public(public_key_path)
    signature = _read_signature(signature_path or signature_path_for(path))
    try:
        key.verify(signature, CONTEXT + file_digest(path))
    except InvalidSignature:
        raise SignatureError(
            f"{path} does not match its signature under this public key "
            "(the file was changed, or it was signed with another key)",
            path=str(path),
        ) from None
