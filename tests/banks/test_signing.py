"""Detached Ed25519 signatures: good files verify; any change, wrong key or bad .sig fails."""

from __future__ import annotations

import base64
import hashlib
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from keepdown.banks.signing import (
    CONTEXT,
    generate_keypair,
    public_key_fingerprint,
    sign_file,
    signature_path_for,
    verify_file,
)
from keepdown.errors import Conflict, InvalidInput, NotFound, SignatureError


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    private, public = tmp_path / "export.key", tmp_path / "export.pub"
    generate_keypair(private, public)
    return private, public


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "bank.jsonl"
    path.write_bytes(b'{"signal_type": "md5", "value": "d41d8cd98f00b204e9800998ecf8427e"}\n' * 50)
    return path


def test_sign_then_verify(keys, export):
    private, public = keys
    sig = sign_file(export, private)
    assert sig == export.with_name("bank.jsonl.sig") == signature_path_for(export)
    verify_file(export, public)
    verify_file(export, public, sig)


def test_private_key_is_owner_only_and_keys_are_pem(keys):
    private, public = keys
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert public.read_text().startswith("-----BEGIN PUBLIC KEY-----")


def test_generate_refuses_to_overwrite_a_key_unless_told(keys):
    private, public = keys
    before = private.read_bytes()
    with pytest.raises(Conflict):
        generate_keypair(private, public)
    assert private.read_bytes() == before
    generate_keypair(private, public, overwrite=True)
    assert private.read_bytes() != before
    assert stat.S_IMODE(private.stat().st_mode) == 0o600


@pytest.mark.parametrize("position", [0, 1000, -1])
def test_one_changed_byte_fails(keys, export, position):
    private, public = keys
    sign_file(export, private)
    data = bytearray(export.read_bytes())
    data[position] ^= 0x01
    export.write_bytes(bytes(data))
    with pytest.raises(SignatureError, match="does not match"):
        verify_file(export, public)


def test_appended_byte_fails(keys, export):
    private, public = keys
    sign_file(export, private)
    with export.open("ab") as handle:
        handle.write(b"\n")
    with pytest.raises(SignatureError):
        verify_file(export, public)


def test_wrong_key_fails(keys, export, tmp_path):
    private, _ = keys
    other_private, other_public = tmp_path / "other.key", tmp_path / "other.pub"
    generate_keypair(other_private, other_public)
    sign_file(export, private)
    with pytest.raises(SignatureError):
        verify_file(export, other_public)


def test_missing_signature_fails(keys, export):
    with pytest.raises(SignatureError, match="no signature file"):
        verify_file(export, keys[1])


@pytest.mark.parametrize(
    "content",
    [b"", b"not base64 at all!!\n", base64.b64encode(b"short"), base64.b64encode(bytes(65))],
)
def test_garbled_signature_fails(keys, export, content):
    private, public = keys
    sign_file(export, private)
    signature_path_for(export).write_bytes(content)
    with pytest.raises(SignatureError, match="is not a signature"):
        verify_file(export, public)


def test_valid_looking_but_wrong_signature_fails(keys, export):
    private, public = keys
    sign_file(export, private)
    signature_path_for(export).write_text(base64.b64encode(bytes(64)).decode())
    with pytest.raises(SignatureError, match="does not match"):
        verify_file(export, public)


def test_bad_key_files_are_clear_errors(keys, export, tmp_path):
    private, public = keys
    with pytest.raises(NotFound):
        sign_file(export, tmp_path / "nope.key")
    with pytest.raises(NotFound):
        verify_file(export, tmp_path / "nope.pub")
    with pytest.raises(InvalidInput, match="PEM private key"):
        sign_file(export, public)
    garbage = tmp_path / "garbage.pub"
    garbage.write_text("hello")
    with pytest.raises(InvalidInput, match="neither"):
        verify_file(export, garbage)
    with pytest.raises(NotFound):
        sign_file(tmp_path / "missing.jsonl", private)


def test_raw_base64_public_key_and_fingerprint(keys, export, tmp_path):
    private, public = keys
    sign_file(export, private)
    key = serialization.load_pem_public_key(public.read_bytes())
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    raw_path = tmp_path / "export.pub.b64"
    raw_path.write_text(base64.b64encode(raw).decode() + "\n")
    verify_file(export, raw_path)
    assert public_key_fingerprint(public) == hashlib.sha256(raw).hexdigest()
    assert public_key_fingerprint(raw_path) == public_key_fingerprint(public)


def test_documented_scheme_verifies_in_a_few_lines_of_python(keys, export):
    """The recipe in docs/formats.md, written out without keepdown."""
    private, public = keys
    sign_file(export, private)
    key = serialization.load_pem_public_key(public.read_bytes())
    assert isinstance(key, Ed25519PublicKey)
    message = b"keepdown-export-signature-v1\x00" + hashlib.sha512(export.read_bytes()).digest()
    assert message.startswith(CONTEXT)
    key.verify(base64.b64decode(signature_path_for(export).read_text()), message)


def test_large_file_is_signed_and_a_late_change_detected(keys, tmp_path):
    private, public = keys
    path = tmp_path / "big.csv"
    with path.open("wb") as handle:
        for n in range(120_000):  # ~5 MB: several 1 MiB chunks
            handle.write(f"md5,{n:032x}\n".encode())
    sign_file(path, private)
    verify_file(path, public)
    with path.open("r+b") as handle:
        handle.seek(-3, 2)
        handle.write(b"X")
    with pytest.raises(SignatureError):
        verify_file(path, public)


def _openssl_rawin() -> bool:
    openssl = shutil.which("openssl")
    if openssl is None:
        return False
    help_text = subprocess.run(
        [openssl, "pkeyutl", "-help"], capture_output=True, text=True, check=False
    )
    return "-rawin" in help_text.stdout + help_text.stderr


@pytest.mark.skipif(not _openssl_rawin(), reason="openssl 3 (pkeyutl -rawin) not installed")
def test_documented_openssl_commands_verify(keys, export, tmp_path):
    private, _ = keys
    sign_file(export, private)
    script = f"""
set -e
cd {tmp_path}
openssl dgst -sha512 -binary bank.jsonl > digest.bin
{{ printf 'keepdown-export-signature-v1\\000'; cat digest.bin; }} > message.bin
base64 -d bank.jsonl.sig > signature.bin
openssl pkeyutl -verify -pubin -inkey export.pub -rawin -in message.bin -sigfile signature.bin
"""
    good = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False)
    assert good.returncode == 0, good.stderr
    assert "Signature Verified Successfully" in good.stdout
    export.write_bytes(export.read_bytes() + b" ")
    bad = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False)
    assert bad.returncode != 0
