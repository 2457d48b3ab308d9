"""Safe decoding: every allowed format, every mode to RGB, and hostile input refused clearly."""

from __future__ import annotations

import io
import struct
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from keepdown.errors import ConfigurationError, DecodeError, ImageTooLarge, InputTooLarge
from keepdown.hashing.decode import (
    ALLOWED_FORMATS,
    DecodeLimits,
    decode_image,
    iter_frames,
    probe_image,
    to_rgb,
)
from keepdown.testing import synthetic_image_array, synthetic_jpeg

PIXELS = synthetic_image_array(3, 64, 48)


def encode(image: Image.Image | np.ndarray, fmt: str, **options) -> bytes:
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def bomb_png(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes whose header claims ``width`` x ``height`` RGB pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("fmt", "media_type", "lossless"),
    [
        ("JPEG", "image/jpeg", False),
        ("PNG", "image/png", True),
        ("GIF", "image/gif", False),
        ("WEBP", "image/webp", True),
        ("BMP", "image/bmp", True),
        ("TIFF", "image/tiff", True),
    ],
)
def test_each_allowed_format_decodes_to_rgb(settings, fmt, media_type, lossless):
    options = {"lossless": True} if fmt == "WEBP" else {}
    decoded = decode_image(
        encode(PIXELS, fmt, **options), limits=DecodeLimits.from_settings(settings)
    )
    assert decoded.info.format == fmt
    assert decoded.info.media_type == media_type
    assert (decoded.info.width, decoded.info.height, decoded.info.animated) == (64, 48, False)
    assert decoded.rgb.shape == (48, 64, 3)
    assert decoded.rgb.dtype == np.uint8
    assert decoded.rgb.flags.c_contiguous
    error = np.abs(decoded.rgb.astype(int) - PIXELS).mean()
    assert error == 0 if lossless else error < 12


def test_empty_input(settings):
    with pytest.raises(DecodeError, match="empty input"):
        decode_image(b"", limits=DecodeLimits.from_settings(settings))


def test_over_the_byte_limit_is_refused_before_decoding(settings):
    data = synthetic_jpeg(1, 64, 48)
    with pytest.raises(InputTooLarge, match=f"{len(data)} bytes, over the 1000-byte limit"):
        decode_image(
            data, limits=DecodeLimits.from_settings(settings.replace(max_image_bytes=1000))
        )


def test_decompression_bomb_is_refused_from_its_header(settings):
    data = bomb_png(50_000, 50_000)
    assert len(data) < 100
    with pytest.raises(ImageTooLarge, match="2500000000 pixels") as info:
        decode_image(data, limits=DecodeLimits.from_settings(settings))
    assert "refused before decoding" in info.value.message
    # Under Pillow's hard limit (twice its own), our header check names the size.
    limited = settings.replace(max_image_pixels=1_000_000)
    with pytest.raises(ImageTooLarge, match="2000x2000 = 4000000 pixels"):
        decode_image(bomb_png(2000, 2000), limits=DecodeLimits.from_settings(limited))
    assert info.value.http_status == 413
    with pytest.raises(ImageTooLarge):
        probe_image(data, limits=DecodeLimits.from_settings(settings))


def test_pixel_limit_is_ours_and_no_pillow_warning_leaks(settings, monkeypatch):
    # Pillow warns between its limit and twice it, and raises above; both become our error.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    small = settings.replace(max_image_pixels=1000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for size in (40, 100):  # 1600 pixels: Pillow warns; 10000: Pillow raises
            with pytest.raises(ImageTooLarge):
                decode_image(
                    encode(synthetic_image_array(1, size, size), "PNG"),
                    limits=DecodeLimits.from_settings(small),
                )
    assert caught == []


def test_pillow_limit_is_raised_to_ours_never_lowered(settings, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    decoded = decode_image(
        encode(PIXELS, "PNG"), limits=DecodeLimits.from_settings(settings)
    )  # 3072 pixels
    assert decoded.rgb.shape == (48, 64, 3)
    assert settings.max_image_pixels == Image.MAX_IMAGE_PIXELS
    decode_image(
        encode(PIXELS, "PNG"),
        limits=DecodeLimits.from_settings(settings.replace(max_image_pixels=5000)),
    )
    assert settings.max_image_pixels == Image.MAX_IMAGE_PIXELS


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "BMP", "TIFF"])
def test_truncated_file_is_a_decode_error_never_padded(settings, fmt):
    data = encode(PIXELS, fmt)
    with pytest.raises(DecodeError, match=r"(?i)truncated") as info:
        decode_image(data[: len(data) // 2], limits=DecodeLimits.from_settings(settings))
    assert info.value.details["reason"] == "OSError"


def test_truncated_webp_is_a_decode_error(settings):
    data = encode(PIXELS, "WEBP")
    with pytest.raises(DecodeError, match="cannot decode"):
        decode_image(data[: len(data) // 2], limits=DecodeLimits.from_settings(settings))


def test_corrupt_png_checksum_is_a_decode_error(settings):
    data = bytearray(encode(PIXELS, "PNG"))
    idat = data.index(b"IDAT")
    data[idat + 20] ^= 0xFF  # inside the compressed pixels: the chunk CRC no longer matches
    with pytest.raises(DecodeError, match="cannot decode"):
        decode_image(bytes(data), limits=DecodeLimits.from_settings(settings))


def test_random_bytes_are_not_an_image(settings):
    data = np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    with pytest.raises(DecodeError, match="not a recognised image format"):
        decode_image(data, limits=DecodeLimits.from_settings(settings))


@pytest.mark.parametrize(
    "body",
    [b"<!DOCTYPE html><html><body>Not found</body></html>", b"\xef\xbb\xbf\n  <html>moved</html>"],
)
def test_html_served_as_an_image_is_named(settings, body):
    with pytest.raises(DecodeError, match="look like HTML"):
        decode_image(body, limits=DecodeLimits.from_settings(settings))


@pytest.mark.parametrize("fmt", ["PPM", "ICO", "PCX"])
def test_formats_pillow_knows_but_we_do_not_allow_are_refused(settings, fmt):
    assert fmt not in ALLOWED_FORMATS
    with pytest.raises(DecodeError, match="not a recognised image format"):
        decode_image(encode(PIXELS, fmt), limits=DecodeLimits.from_settings(settings))


def test_zero_sized_header_is_refused(settings):
    with pytest.raises(DecodeError):
        decode_image(bomb_png(0, 10), limits=DecodeLimits.from_settings(settings))


def test_refuses_to_run_with_pillow_padding_truncated_files(settings, monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(ConfigurationError, match="LOAD_TRUNCATED_IMAGES"):
        decode_image(encode(PIXELS, "PNG"), limits=DecodeLimits.from_settings(settings))


# --- modes --------------------------------------------------------------------------------

GREY = PIXELS[..., 1]


@pytest.mark.parametrize(
    ("mode", "values", "fmt", "stretched"),
    [
        ("I;16", GREY.astype(np.uint16) * 257, "PNG", False),  # full 16-bit range: >> 8
        ("I;16", GREY.astype(np.uint16) * 257, "TIFF", False),
        ("I", GREY.astype(np.int32), "TIFF", False),  # Pillow's 0-255 convention
        ("I", GREY.astype(np.int32) * 1000 - 70_000, "TIFF", True),  # any other range
        ("F", GREY.astype(np.float32) / 255.0, "TIFF", False),  # the 0-1 float convention
        ("F", GREY.astype(np.float32), "TIFF", False),
        ("F", GREY.astype(np.float32) * 3.5 - 9.0, "TIFF", True),
    ],
)
def test_wide_greys_are_scaled_not_clipped(settings, mode, values, fmt, stretched):
    decoded = decode_image(
        encode(Image.fromarray(values), fmt), limits=DecodeLimits.from_settings(settings)
    )
    assert decoded.info.source_mode == mode
    want = GREY.astype(float)
    if stretched:
        want = np.rint((want - want.min()) * 255 / (want.max() - want.min()))
    for channel in range(3):
        assert np.abs(decoded.rgb[..., channel].astype(int) - want).max() <= 1


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [("1", "PNG"), ("L", "PNG"), ("LA", "PNG"), ("P", "GIF"), ("RGBA", "TIFF"),
     ("CMYK", "JPEG"), ("CMYK", "TIFF"), ("YCbCr", "JPEG"), ("LAB", "TIFF")],
)  # fmt: skip
def test_every_stored_mode_becomes_rgb(settings, mode, fmt):
    data = encode(Image.fromarray(PIXELS).convert(mode), fmt)
    decoded = decode_image(data, limits=DecodeLimits.from_settings(settings))
    assert decoded.rgb.shape == (48, 64, 3)
    assert decoded.rgb.std() > 10  # a picture, not a flat fill


@pytest.mark.parametrize("mode", ["PA", "La", "RGBa", "HSV", "LAB", "YCbCr", "RGBX"])
def test_modes_without_a_direct_path_convert(mode):
    source = Image.fromarray(PIXELS).convert("RGBA" if mode in ("PA", "La", "RGBa") else "RGB")
    image = source.convert("P").convert("PA") if mode == "PA" else source.convert(mode)
    rgb = to_rgb(image)
    assert rgb.shape == (48, 64, 3)
    # Palette and grey lose colour; compare with what they keep.
    kept = {"PA": "P", "La": "L"}.get(mode)
    want = np.asarray(source.convert(kept).convert("RGB")) if kept else PIXELS
    assert np.abs(rgb.astype(int) - want).mean() < 4


def test_alpha_is_dropped_keeping_the_stored_colour(settings):
    rgba = np.dstack([PIXELS, np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (48, 1))])
    decoded = decode_image(encode(rgba, "PNG"), limits=DecodeLimits.from_settings(settings))
    assert np.array_equal(decoded.rgb, PIXELS)


# --- EXIF orientation ---------------------------------------------------------------------


def exif_rotated_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    return encode(PIXELS, "JPEG", exif=exif)


def test_exif_orientation_is_ignored_by_default(settings):
    assert settings.apply_exif_orientation is False
    assert decode_image(
        exif_rotated_jpeg(), limits=DecodeLimits.from_settings(settings)
    ).rgb.shape == (48, 64, 3)


def test_exif_orientation_applied_when_asked(settings):
    turned = settings.replace(apply_exif_orientation=True)
    decoded = decode_image(exif_rotated_jpeg(), limits=DecodeLimits.from_settings(turned))
    assert decoded.rgb.shape == (64, 48, 3)
    plain = decode_image(exif_rotated_jpeg(), limits=DecodeLimits.from_settings(settings)).rgb
    assert np.abs(decoded.rgb.astype(int) - np.rot90(plain, -1)).max() == 0


# --- frames -------------------------------------------------------------------------------


def animated_gif(n: int) -> bytes:
    frames = [Image.fromarray(synthetic_image_array(seed, 64, 48)) for seed in range(n)]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)


def test_first_frame_by_default_every_frame_on_request(settings):
    data = animated_gif(3)
    decoded = decode_image(data, limits=DecodeLimits.from_settings(settings))
    assert decoded.info.animated
    frames = list(iter_frames(data, limits=DecodeLimits.from_settings(settings)))
    assert len(frames) == 3
    assert np.array_equal(frames[0], decoded.rgb)
    for seed, frame in enumerate(frames):
        assert frame.shape == (48, 64, 3)
        assert np.abs(frame.astype(int) - synthetic_image_array(seed, 64, 48)).mean() < 12


def test_frames_are_capped(settings):
    frames = list(
        iter_frames(
            animated_gif(4), limits=DecodeLimits.from_settings(settings.replace(max_gif_frames=2))
        )
    )
    assert len(frames) == 2


def test_still_image_has_one_frame(settings):
    assert (
        len(list(iter_frames(encode(PIXELS, "PNG"), limits=DecodeLimits.from_settings(settings))))
        == 1
    )


def test_each_tiff_page_is_checked_against_the_pixel_limit(settings):
    small = Image.fromarray(PIXELS)
    large = Image.fromarray(synthetic_image_array(1, 200, 100))
    data = encode(small, "TIFF", save_all=True, append_images=[large])
    limited = settings.replace(max_image_pixels=10_000)
    assert decode_image(data, limits=DecodeLimits.from_settings(limited)).rgb.shape == (48, 64, 3)
    frames = iter_frames(data, limits=DecodeLimits.from_settings(limited))
    assert next(frames).shape == (48, 64, 3)
    with pytest.raises(ImageTooLarge, match="200x100"):
        next(frames)


# --- fuzz: damaged files end in a decode or an error from our tree, never anything else ----


@pytest.mark.parametrize("fmt", ALLOWED_FORMATS)
def test_damaged_files_never_escape_the_error_tree(settings, fmt):
    rng = np.random.default_rng(sum(fmt.encode()))
    frames = [Image.fromarray(synthetic_image_array(seed, 48, 32)) for seed in range(2)]
    options = {"save_all": True, "append_images": frames[1:]} if fmt in ("GIF", "TIFF") else {}
    original = np.frombuffer(encode(frames[0], fmt, **options), np.uint8)
    outcomes = set()
    for _ in range(60):
        data = original.copy()
        at = rng.integers(0, len(data), int(rng.integers(1, 8)))
        data[at] = rng.integers(0, 256, len(at), dtype=np.uint8)
        data = data[: int(rng.integers(len(data) // 4, len(data) + 1))]
        try:
            decoded = decode_image(data.tobytes(), limits=DecodeLimits.from_settings(settings))
            frames_seen = list(
                iter_frames(data.tobytes(), limits=DecodeLimits.from_settings(settings))
            )
            assert decoded.rgb.ndim == 3
            assert all(f.shape[2] == 3 for f in frames_seen)
            outcomes.add("decoded")
        except DecodeError as exc:  # ImageTooLarge included: a damaged header may claim a lot
            outcomes.add(type(exc).__name__)
    assert "DecodeError" in outcomes
