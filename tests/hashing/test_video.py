"""vPDQ: agreement with the reference hashes, frame sampling, limits, and bad videos.

The reference data (``../shared/testdata/vpdq-reference``) holds Meta's vpdq hashes of benign
sample videos, every frame, at native size and scaled to 128x128. Upstream's own regression
test compares tolerantly, because FFmpeg builds decode and scale slightly differently: frames
where both qualities are at least 50 must be fewer than 31 bits apart, and frame numbers must
be equal. These tests do the same with keepdown's PDQ over PyAV-decoded frames.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from keepdown.errors import DecodeError, ImageTooLarge, InputTooLarge, InvalidHash
from keepdown.hashing import hash_bytes
from keepdown.hashing.types import PdqHash, VpdqHash, parse_hash
from keepdown.hashing.video import VideoHashResult, VideoLimits, hash_video, looks_like_video
from keepdown.testing import synthetic_jpeg, synthetic_video

VIDEOS = (
    "chair-19-sd-bar",
    "chair-20-sd-bar",
    "chair-orig-22-sd-bar",
    "doorknob-hd-no-bar",
    "pattern-hd-no-bar",
    "pattern-longer-no-bar",
    "pattern-sd-grey-bar",
    "pattern-sd-with-large-logo-bar",
    "pattern-sd-with-small-logo-bar",
    "test-padded-dimensions",
)


def reference_lines(path: Path) -> list[tuple[int, int, PdqHash, float]]:
    out = []
    for line in path.read_text().splitlines():
        frame, quality, pdq, timestamp = line.strip().split(",")
        out.append((int(frame), int(quality), PdqHash.from_hex(pdq), float(timestamp)))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("downsample", [0, 128], ids=["native", "128x128"])
@pytest.mark.parametrize("name", VIDEOS)
def test_agrees_with_the_vpdq_reference(vpdq_reference, settings, name, downsample):
    video = vpdq_reference / "sample-videos" / f"{name}.mp4"
    suffix = "-128x128" if downsample else ""
    hashes = vpdq_reference / "sample-hashes" / f"{name}{suffix}.txt"
    if not hashes.exists():
        pytest.skip(f"the reference data has no {hashes.name}")
    expected = reference_lines(hashes)
    limits = VideoLimits(seconds_per_hash=0, downsample=downsample)

    result = hash_video(video, settings=settings, limits=limits)

    assert result.pdq_error is None
    assert [f.frame for f in result.frames_vpdq] == [line[0] for line in expected]
    compared = 0
    for got, (_frame, quality, pdq, timestamp) in zip(result.frames_vpdq, expected, strict=True):
        assert got.feature.timestamp == pytest.approx(timestamp, abs=0.001)
        if got.feature.quality >= 50 and quality >= 50:
            compared += 1
            assert got.feature.hash - pdq < 31, f"frame {got.frame} is too far from the reference"
    assert compared >= len(expected) // 3  # the tolerance must not hide everything


def test_seconds_per_hash_takes_one_frame_per_interval(vpdq_reference, settings):
    video = vpdq_reference / "sample-videos" / "test-padded-dimensions.mp4"  # 30 fps, 5 s
    every_frame = hash_video(video, settings=settings, limits=VideoLimits(seconds_per_hash=0))
    one_per_second = hash_video(video, settings=settings, limits=VideoLimits(seconds_per_hash=1))
    half_second = hash_video(video, settings=settings, limits=VideoLimits(seconds_per_hash=0.5))

    assert [f.frame for f in one_per_second.frames_vpdq] == [0, 30, 60, 90, 120]
    assert [f.feature.timestamp for f in one_per_second.frames_vpdq] == [0, 1, 2, 3, 4]
    assert [f.frame for f in half_second.frames_vpdq] == list(range(0, 150, 15))
    by_frame = {f.frame: f.feature for f in every_frame.frames_vpdq}
    assert all(by_frame[f.frame] == f.feature for f in one_per_second.frames_vpdq)
    assert one_per_second.frame_rate == 30.0
    assert one_per_second.duration_seconds == pytest.approx(5.0, abs=0.05)


def test_hash_bytes_hashes_a_video_in_memory(settings):
    data = synthetic_video(1, seconds=3, fps=10)
    result = hash_bytes(data, settings=settings)

    assert isinstance(result, VideoHashResult)
    assert result.media_type == "video/mp4"
    assert (result.width, result.height) == (320, 240)
    assert result.pdq is None
    assert result.pdq_error is None
    assert [f.frame for f in result.frames_vpdq] == [0, 10, 20]
    assert result.sha256 == hash_bytes(data + b"", settings=settings).sha256
    document = result.to_dict()
    assert [f["frame"] for f in document["vpdq"]] == [0, 10, 20]
    assert json.dumps(document)  # JSON-ready


def test_webm_is_hashed_too(settings):
    result = hash_bytes(synthetic_video(2, seconds=2, fmt="webm"), settings=settings)
    assert result.media_type == "video/webm" or result.format == "matroska"
    assert len(result.frames_vpdq) == 2


def test_the_vpdq_signal_round_trips_in_pytx_form(settings):
    result = hash_bytes(synthetic_video(3, seconds=2), settings=settings)
    signal = result.vpdq.hex
    items = json.loads(signal)
    assert all(len(item.split(",")) == 3 for item in items)  # "pdq_hex,quality,timestamp"
    again = parse_hash("vpdq", signal)
    assert isinstance(again, VpdqHash)
    assert again == result.vpdq


def test_vpdq_signal_as_python_threatexchange_writes_it():
    # pytx: json.dumps([f"{hex},{quality},{timestamp:.3}"]): spaces, general float format
    text = json.dumps([f"{PdqHash.EXAMPLES[0]},100,0.0", f"{PdqHash.EXAMPLES[1]},87,1.23e+03"])
    parsed = VpdqHash.from_hex(text)
    assert [f.quality for f in parsed.features] == [100, 87]
    assert [f.timestamp for f in parsed.features] == [0.0, 1230.0]
    objects = json.dumps([{"hash": PdqHash.EXAMPLES[0], "quality": 90, "timestamp": 2.5}])
    assert VpdqHash.from_hex(objects).features[0].quality == 90


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (PdqHash.EXAMPLES[0], "no single hash value"),
        ('["abc,100,0.0"]', "64 hex characters"),
        (f'["{PdqHash.EXAMPLES[0]},101,0.0"]', "out of range"),
        (f'["{PdqHash.EXAMPLES[0]},100,-1"]', "out of range"),
        (f'["{PdqHash.EXAMPLES[0]},high,0"]', "bad quality"),
        ('["just text"]', "expected 'pdq_hex,quality,timestamp'"),
        ('{"0": 1}', "no single hash value"),
    ],
)
def test_bad_vpdq_signals_say_why(text, reason):
    with pytest.raises(InvalidHash, match=reason):
        parse_hash("vpdq", text)


def test_limits_bytes_pixels_duration_frames(settings, tmp_path):
    data = synthetic_video(4, seconds=4, fps=10)
    path = tmp_path / "clip.mp4"
    path.write_bytes(data)

    too_big = hash_video(path, settings=settings, limits=VideoLimits(max_bytes=len(data) - 1))
    assert isinstance(too_big.pdq_error, InputTooLarge)
    assert not too_big.frames_vpdq
    assert too_big.sha256 == hash_bytes(data, settings=settings).sha256  # exact hashes still

    wide = hash_video(path, settings=settings, limits=VideoLimits(max_pixels=320 * 240 - 1))
    assert isinstance(wide.pdq_error, ImageTooLarge)

    long = hash_video(path, settings=settings, limits=VideoLimits(max_seconds=2.0))
    assert isinstance(long.pdq_error, InputTooLarge)
    assert "lasts" in long.pdq_error.message

    many = hash_video(path, settings=settings, limits=VideoLimits(seconds_per_hash=0, max_frames=5))
    assert isinstance(many.pdq_error, InputTooLarge)
    assert [f.frame for f in many.frames_vpdq] == [0, 1, 2, 3, 4]


def test_truncated_and_corrupt_videos_keep_what_was_decoded(settings):
    data = synthetic_video(5, seconds=4, fps=10)
    truncated = hash_video(data[: len(data) * 2 // 3], settings=settings)
    assert truncated.sha256 is not None
    assert truncated.pdq_error is None or isinstance(truncated.pdq_error, DecodeError)

    garbage = hash_video(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40, settings=settings)
    assert isinstance(garbage.pdq_error, DecodeError)
    assert not garbage.frames_vpdq

    not_video = hash_video(synthetic_jpeg(1), settings=settings)
    assert isinstance(not_video.pdq_error, DecodeError)


def test_only_video_containers_are_taken_for_video():
    assert looks_like_video(synthetic_video(6, seconds=1)[:64])
    assert looks_like_video(synthetic_video(6, seconds=1, fmt="webm")[:64])
    assert not looks_like_video(synthetic_jpeg(2)[:64])
    assert not looks_like_video(b"\x00\x00\x00\x18ftypheic" + bytes(20))  # a HEIF picture
    assert not looks_like_video(b"<html>")
