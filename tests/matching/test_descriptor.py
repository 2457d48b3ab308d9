"""The learned-descriptor door: an ONNX model the test builds itself (no weights shipped),
loaded, run on benign pictures, indexed, and matched as ``near (robust)`` for review."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from benchmarks.scenes import scene_image
from keepdown.errors import ConfigurationError, InvalidInput
from keepdown.index.vectors import VectorIndex
from keepdown.matching import Verdict, verdict
from keepdown.matching.matcher import ROBUST
from tests.matching.test_matcher import Policy

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper  # noqa: E402

from keepdown.hashing.descriptor import OnnxDescriptor  # noqa: E402
from keepdown.matching.descriptor import DescriptorMatcher  # noqa: E402


def tiny_model(size: int = 32, fixed: bool = True, channels: int = 3) -> bytes:
    """A 'descriptor' of 192 numbers: the picture averaged over 8x8 cells per channel, minus
    its mean (so brightness matters less): enough to tell pictures apart, not a real model."""
    dims: list[int | str] = [1, channels, size, size] if fixed else ["n", channels, "h", "w"]
    pool = helper.make_node(
        "AveragePool", ["image"], ["cells"], kernel_shape=[size // 8] * 2, strides=[size // 8] * 2
    )
    flat = helper.make_node("Flatten", ["cells"], ["flat"], axis=1)
    mean = helper.make_node("ReduceMean", ["flat"], ["avg"], keepdims=1, axes=[1])
    centred = helper.make_node("Sub", ["flat", "avg"], ["vector"])
    graph = helper.make_graph(
        [pool, flat, mean, centred],
        "tiny",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("vector", TensorProto.FLOAT, [1, channels * 64])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def picture(seed: int) -> np.ndarray:
    return np.asarray(scene_image(seed, 320, 240))


def edited(rgb: np.ndarray) -> np.ndarray:
    """Brighter and re-encoded at JPEG quality 60: the same picture, other bytes."""
    image = ImageEnhance.Brightness(Image.fromarray(rgb)).enhance(1.2)
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=60)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def test_loads_a_model_and_embeds_pictures(tmp_path):
    path = tmp_path / "tiny.onnx"
    path.write_bytes(tiny_model())
    model = OnnxDescriptor.load(path)
    assert (model.name, model.height, model.width, model.dimensions) == ("tiny", 32, 32, 192)
    vector = model.embed(picture(1))
    assert vector.shape == (192,)
    assert vector.dtype == np.float32
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)
    same = model.embed(edited(picture(1)))
    other = model.embed(picture(2))
    assert float(vector @ same) > 0.95 > float(vector @ other)


def test_a_model_with_free_input_size_needs_a_size():
    with pytest.raises(ConfigurationError, match="size"):
        OnnxDescriptor.load(tiny_model(fixed=False))
    model = OnnxDescriptor.load(tiny_model(fixed=False), size=(32, 32), name="free")
    assert model.embed_many([picture(1), picture(2)]).shape == (2, 192)


def test_bad_models_and_inputs_are_refused():
    with pytest.raises(ConfigurationError, match="cannot load"):
        OnnxDescriptor.load(b"not an onnx model")
    with pytest.raises(ConfigurationError, match="not N x 3 x H x W"):
        OnnxDescriptor.load(tiny_model(channels=1))
    with pytest.raises(ConfigurationError, match="not"):
        OnnxDescriptor.load(tiny_model(), size=(64, 64))
    with pytest.raises(ConfigurationError, match="std"):
        OnnxDescriptor.load(tiny_model(), std=(0.2, 0.0, 0.2))
    model = OnnxDescriptor.load(tiny_model())
    with pytest.raises(InvalidInput):
        model.embed(np.zeros((10, 10), np.uint8))


def test_vector_index_is_exact_and_round_trips(tmp_path):
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(500, 16)).astype(np.float32)
    index = VectorIndex.empty(16).with_rows(vectors, np.arange(500), np.full(500, 9))
    hits = index.search(vectors[[7, 300]], 0.999)
    assert [[h.entry_id for h in found] for found in hits] == [[7], [300]]
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    brute = unit @ unit[42]
    assert {h.entry_id for h in index.search(vectors[42], 0.5)[0]} == set(
        np.flatnonzero(brute >= 0.5).tolist()
    )
    index.save(tmp_path / "v")
    again = VectorIndex.load(tmp_path / "v")
    assert np.array_equal(again.vectors, index.vectors)
    with pytest.raises(InvalidInput):
        index.with_rows(vectors[:2, :8], [1, 2], [9, 9])
    with pytest.raises(InvalidInput):
        VectorIndex.load(tmp_path / "missing")


def test_descriptor_matches_are_robust_and_go_to_review():
    model = OnnxDescriptor.load(tiny_model(), name="tiny")
    originals = [picture(s) for s in range(1, 9)]
    index = VectorIndex.empty(model.dimensions).with_rows(
        model.embed_many(originals), np.arange(101, 109), [10] * 4 + [20] * 4
    )
    matcher = DescriptorMatcher(model, index, min_similarity=0.95)
    banks = {10: Policy(10, "opted", trusted=True, robust=True), 20: Policy(20, "plain")}
    found = matcher.match_picture(edited(originals[1]), banks)
    assert [(m.entry_id, m.match_type, m.variant) for m in found] == [
        (102, ROBUST, "descriptor:tiny")
    ]
    assert verdict(found, banks) is Verdict.REVIEW  # trusted bank, still a person decides
    assert matcher.match_picture(edited(originals[5]), banks) == []  # bank 20 did not opt in
    with pytest.raises(ValueError, match="dimension"):
        DescriptorMatcher(model, VectorIndex.empty(8))
