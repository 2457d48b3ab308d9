"""Previews are small, grayscale and blurred; a reveal is small and sharp; bad bytes refused."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from keepdown.errors import DecodeError, InputTooLarge
from keepdown.hashing.preview import render_preview
from keepdown.settings import load_settings
from keepdown.testing import synthetic_jpeg


def _pixels(jpeg: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"), dtype=np.float32)


def _detail(pixels: np.ndarray) -> float:
    """Variance of the Laplacian (the usual focus measure): high for sharp pictures."""
    g = pixels.mean(axis=2)
    lap = 4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]
    return float(lap.var())


def test_default_preview_is_small_grey_and_blurred() -> None:
    original = synthetic_jpeg(21, 640, 480)
    preview = render_preview(original, max_side=240, blur=12)
    pixels = _pixels(preview.jpeg)
    assert (preview.width, preview.height) == (240, 180)
    assert pixels.shape[:2] == (180, 240)
    # Grayscale: every channel equal.
    assert float(np.abs(pixels[..., 0] - pixels[..., 2]).max()) <= 1.0
    sharp = render_preview(original, max_side=240, blur=0, grayscale=False)
    assert _detail(pixels) < _detail(_pixels(sharp.jpeg)) / 5
    assert float(np.abs(_pixels(sharp.jpeg)[..., 0] - _pixels(sharp.jpeg)[..., 2]).mean()) > 5


def test_blur_wipes_out_fine_detail() -> None:
    grid = np.zeros((480, 640, 3), np.uint8)
    grid[:, ::8] = 255
    grid[::8, :] = 255
    png = io.BytesIO()
    Image.fromarray(grid).save(png, "PNG")
    sharp = _detail(_pixels(render_preview(png.getvalue(), blur=0).jpeg))
    blurred = _detail(_pixels(render_preview(png.getvalue(), blur=12).jpeg))
    assert blurred < sharp / 1000


def test_preview_carries_no_metadata_and_is_not_the_original() -> None:
    original = synthetic_jpeg(22)
    preview = render_preview(original, blur=0, grayscale=False, max_side=640)
    assert preview.jpeg != original
    assert not Image.open(io.BytesIO(preview.jpeg)).getexif()


def test_bad_bytes_are_refused() -> None:
    with pytest.raises(DecodeError):
        render_preview(b"<html>not an image</html>")
    with pytest.raises(InputTooLarge):
        render_preview(
            synthetic_jpeg(1),
            settings=load_settings(environ={}, overrides={"max_image_bytes": 100}),
        )
