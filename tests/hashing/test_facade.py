"""The hashing facade: hash_bytes / hash_file results, reference hashes, modes and errors."""

from __future__ import annotations

import hashlib
import io
import json
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import keepdown.hashing as hashing
from keepdown.errors import (
    DecodeError,
    ImageTooLarge,
    InputTooLarge,
    InvalidInput,
    NotFound,
    UsageError,
)
from keepdown.hashing import DIHEDRAL_NAMES, HashResult, hash_bytes, hash_file
from keepdown.hashing.pdq import pdq_from_rgb
from keepdown.hashing.types import PdqHash
from keepdown.testing import sample_image_paths, synthetic_image_array, synthetic_jpeg

BRIDGE = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MODES = ("1.png", "CMYK.jpg", "F.webp", "HSV.webp", "I.webp", "L.png", "LA.png", "LAB.webp",
         "P.png", "PA.webp", "RGB.jpg", "RGBA.png", "YCbCr.jpg")  # fmt: skip


def test_public_surface_is_explicit():
    assert set(hashing.__all__) == {
        "ALLOWED_FORMATS", "DIHEDRAL_NAMES", "MEDIA_TYPES", "DecodedImage", "ExactHashes",
        "HashMode", "HashResult", "ImageInfo", "PdqResult", "decode_image", "exact_hashes",
        "hash_bytes", "hash_file", "warm_up",
    }  # fmt: skip
    assert len(set(hashing.__all__)) == len(hashing.__all__)
    for name in hashing.__all__:
        assert getattr(hashing, name) is not None


def test_exact_hashes_and_image_facts(settings):
    data = synthetic_jpeg(5, 160, 120)
    result = hash_bytes(data, settings=settings)
    assert result.md5.hex == hashlib.md5(data).hexdigest()
    assert result.sha1.hex == hashlib.sha1(data).hexdigest()
    assert result.sha256.hex == hashlib.sha256(data).hexdigest()
    assert result.size_bytes == len(data)
    assert (result.format, result.media_type, result.width, result.height) == (
        "JPEG", "image/jpeg", 160, 120,
    )  # fmt: skip
    assert result.mode == "exact"
    rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert result.pdq == pdq_from_rgb(rgb).hash
    assert result.quality == pdq_from_rgb(rgb).quality
    assert result.pdq_error is None
    assert (result.dihedral, result.frames) == (None, None)


def test_reference_bridge_photo(pdq_reference, settings):
    result = hash_file(pdq_reference / "data/misc-images/modes/original.jpg", settings=settings)
    assert (result.pdq.hex, result.quality) == (BRIDGE, 100)


def test_dihedral_matches_the_measured_reference(pdq_reference, settings):
    expected = {}
    for line in (pdq_reference / "expected/pdqhash-pillow-dihedral-measured.csv").open():
        path, transform, value, quality = line.strip().split(",")
        if path == "data/bridge-mods/aaa-orig.jpg":
            expected[transform] = (value, int(quality))
    path = pdq_reference / "data/bridge-mods/aaa-orig.jpg"
    result = hash_file(path, settings=settings, dihedral=True)
    assert tuple(result.dihedral) == DIHEDRAL_NAMES
    got = {name: (r.hash.hex, r.quality) for name, r in result.dihedral.items()}
    assert got == expected
    assert result.pdq == result.dihedral["original"].hash


@pytest.fixture(scope="module")
def original_bridge(pdq_reference):
    return hash_file(pdq_reference / "data/misc-images/modes/original.jpg")


@pytest.mark.parametrize("name", MODES)
def test_every_mode_file_lands_within_2_bits_of_the_rgb_original(
    pdq_reference, settings, original_bridge, name
):
    result = hash_file(pdq_reference / "data/misc-images/modes" / name, settings=settings)
    assert result.pdq_error is None
    assert result.pdq - original_bridge.pdq <= 2
    assert result.quality >= 50


def test_partial_alpha_hashes_as_python_threatexchange_publishes(pdq_reference, settings):
    # pytx's own test expectation for its LA.png (alpha 0-255): alpha dropped, not composited.
    result = hash_file(pdq_reference / "pytx-resources/LA.png", settings=settings)
    assert result.pdq.hex == "accb6d39648035f8125c8ce6ba65007de7b54c67a2d93ef7b8f33b0611306715"
    assert result.quality == 100


def test_sixteen_bit_grey_is_scaled_not_clipped_white(pdq_reference, settings):
    # Pillow's own I;16 -> RGB clips at 255: almost white, quality 36 (pytx's expectation).
    result = hash_file(pdq_reference / "pytx-resources/I16.png", settings=settings)
    clipped = PdqHash.from_hex("de2ef0e99ecdfc1d248a0eb055f023d1d61e79c3920cbb55d561c02accab1763")
    assert result.quality >= 50
    assert result.pdq - clipped > 31


def test_all_frames_of_the_shipped_animated_sample(settings):
    gif = next(p for p in sample_image_paths() if p.suffix == ".gif")
    result = hash_file(gif, settings=settings, all_frames=True)
    assert len(result.frames) == 3
    assert result.frames[0].hash == result.pdq
    assert min(a.hash - b.hash for a, b in zip(result.frames, result.frames[1:], strict=False)) > 31
    capped = hash_file(gif, settings=settings.replace(max_gif_frames=2), all_frames=True)
    assert capped.frames == result.frames[:2]


def test_still_image_with_all_frames_has_one(settings):
    result = hash_bytes(synthetic_jpeg(1, 64, 64), settings=settings, all_frames=True)
    assert result.frames == (result.frames[0],)
    assert result.frames[0].hash == result.pdq


@pytest.mark.parametrize(
    ("data", "error", "reason"),
    [
        (b"", DecodeError, "empty input"),
        (b"hello, this is a text file\n", DecodeError, "not a recognised image format"),
        (b"<html><body>404</body></html>", DecodeError, "HTML"),
        (synthetic_jpeg(2, 64, 64)[:400], DecodeError, r"(?i)truncated"),
    ],
)
def test_undecodable_input_keeps_exact_hashes_and_reports_why(settings, data, error, reason):
    result = hash_bytes(data, settings=settings)
    assert result.sha256.hex == hashlib.sha256(data).hexdigest()
    assert result.pdq is None
    assert result.quality is None
    assert type(result.pdq_error) is error
    with pytest.raises(error, match=reason):
        raise result.pdq_error


def test_bomb_is_reported_as_image_too_large(settings):
    # A 1x1 PNG whose header is rewritten to claim 50000 x 50000 pixels.
    buf = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    data[16:24] = (50_000).to_bytes(4, "big") * 2
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    result = hash_bytes(bytes(data), settings=settings)
    assert isinstance(result.pdq_error, ImageTooLarge)
    assert "2500000000 pixels" in result.pdq_error.message


def test_hash_file_paths_and_file_objects_agree(settings, tmp_path):
    data = synthetic_jpeg(9, 120, 90)
    path = tmp_path / "picture.jpg"
    path.write_bytes(data)
    from_bytes = hash_bytes(data, settings=settings)
    assert hash_file(path, settings=settings) == from_bytes
    assert hash_file(str(path), settings=settings) == from_bytes
    assert hash_file(io.BytesIO(data), settings=settings) == from_bytes


def test_file_over_the_image_limit_is_streamed_for_exact_hashes(settings, tmp_path):
    data = synthetic_jpeg(9, 120, 90)
    path = tmp_path / "big.jpg"
    path.write_bytes(data * 3)
    limited = settings.replace(max_image_bytes=len(data))
    result = hash_file(path, settings=limited)
    assert result.sha256.hex == hashlib.sha256(data * 3).hexdigest()
    assert result.size_bytes == 3 * len(data)
    assert isinstance(result.pdq_error, InputTooLarge)
    assert result.pdq is None
    exactly_at_limit = hash_file(io.BytesIO(data), settings=limited)
    assert exactly_at_limit.pdq is not None


def test_bytes_over_the_limit_keep_exact_hashes(settings):
    data = synthetic_jpeg(9, 120, 90)
    result = hash_bytes(data, settings=settings.replace(max_image_bytes=100))
    assert isinstance(result.pdq_error, InputTooLarge)
    assert result.md5.hex == hashlib.md5(data).hexdigest()


def test_missing_and_unreadable_paths_raise(settings, tmp_path):
    with pytest.raises(NotFound, match="no such file"):
        hash_file(tmp_path / "absent.jpg", settings=settings)
    with pytest.raises(InvalidInput, match="cannot read"):
        hash_file(tmp_path, settings=settings)


def test_unknown_mode_is_a_usage_error(settings):
    with pytest.raises(UsageError, match="unknown hash mode"):
        hash_bytes(b"x", settings=settings, mode="quick")  # type: ignore[arg-type]


def test_fast_mode_for_jpeg_close_to_exact_and_exact_for_other_formats(settings):
    data = synthetic_jpeg(11, 1024, 768)
    exact = hash_bytes(data, settings=settings)
    fast = hash_bytes(data, settings=settings, mode="fast", dihedral=True)
    assert fast.mode == "fast"
    assert fast.pdq - exact.pdq <= 8
    assert set(fast.dihedral) == set(DIHEDRAL_NAMES)
    assert (fast.width, fast.height, fast.sha256) == (1024, 768, exact.sha256)
    buf = io.BytesIO()
    Image.fromarray(synthetic_image_array(11, 256, 192)).save(buf, "PNG")
    png = hash_bytes(buf.getvalue(), settings=settings, mode="fast")
    assert png.mode == "exact"
    assert png.pdq is not None


def test_fast_mode_respects_the_pixel_limit(settings):
    data = synthetic_jpeg(11, 400, 300)
    result = hash_bytes(data, settings=settings.replace(max_image_pixels=10_000), mode="fast")
    assert isinstance(result.pdq_error, ImageTooLarge)


def test_to_dict_is_json_ready(settings):
    result = hash_bytes(synthetic_jpeg(3, 64, 64), settings=settings, dihedral=True,
                        all_frames=True)  # fmt: skip
    body = json.loads(json.dumps(result.to_dict()))
    assert body["pdq"] == result.pdq.hex
    assert body["sha256"] == result.sha256.hex
    assert body["dihedral"]["rotate90"]["pdq"] == result.dihedral["rotate90"].hash.hex
    assert body["frames"][0] == {"pdq": result.pdq.hex, "quality": result.quality}
    assert body["pdq_error"] is None
    failed = json.loads(json.dumps(hash_bytes(b"text", settings=settings).to_dict()))
    assert failed["pdq"] is None
    assert failed["pdq_error"]["code"] == "decode_error"


def test_result_is_frozen(settings):
    result = hash_bytes(synthetic_jpeg(3, 64, 64), settings=settings, dihedral=True)
    assert isinstance(result, HashResult)
    with pytest.raises(AttributeError):
        result.pdq = None  # type: ignore[misc]
    with pytest.raises(TypeError):
        result.dihedral["original"] = result.dihedral["rotate90"]  # type: ignore[index]


def test_every_shipped_sample_hashes(settings):
    paths = sample_image_paths()
    assert len(paths) == 8
    for path in paths:
        result = hash_file(Path(path), settings=settings)
        assert result.pdq_error is None, path
        # Stand-ins for known material must be matchable: PDQ skips hashes below the floor.
        assert result.quality >= PdqHash.QUALITY_FLOOR, path
