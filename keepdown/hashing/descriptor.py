"""A door for a learned image descriptor: an operator's own ONNX embedding model.

Learned copy-detection descriptors find edited copies far better than global hashes (about
four times PDQ's score on Meta's DISC2021), but keepdown ships no model: none that is open,
offline and permissively licensed was available, and weights are the operator's choice. An
operator who has obtained one plugs it in here (optional extra ``keepdown[descriptor]``,
which installs ``onnxruntime``):

1. :meth:`OnnxDescriptor.load` opens the model on the CPU and checks its shape: one image
   input ``N x 3 x H x W`` (float32; H and W fixed, or given), one output ``N x D``.
2. :meth:`OnnxDescriptor.embed` resizes the decoded RGB picture to H x W (bilinear, Pillow),
   scales it to 0-1, subtracts ``mean`` and divides by ``std`` per channel (ImageNet's by
   default, what most such models expect), runs the model and returns the L2-normalised
   ``D``-vector (float32), so that similarity is a dot product.

Matches through a descriptor are ``near (robust)`` matches: review only
(:mod:`keepdown.matching.descriptor`). Bad models are refused with the reason
(:class:`~keepdown.errors.ConfigurationError`), never run half-understood.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from keepdown.errors import ConfigurationError, InvalidInput

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "OnnxDescriptor"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class OnnxDescriptor:
    """An ONNX embedding model ready to run; build it with :meth:`load`."""

    name: str  #: shown as the variant of its matches (``descriptor:<name>``)
    session: Any  #: the onnxruntime InferenceSession
    input_name: str
    height: int
    width: int
    dimensions: int
    batched: bool = True  #: the model takes any number of pictures per run (else one)
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    @classmethod
    def load(
        cls,
        model: str | Path | bytes,
        *,
        name: str | None = None,
        size: tuple[int, int] | None = None,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
    ) -> OnnxDescriptor:
        """Open ``model`` (a path or the model's bytes) and check its input and output.

        ``size`` (height, width) is needed when the model's input size is not fixed.
        """
        ort = _onnxruntime()
        source = model if isinstance(model, bytes) else str(model)
        try:
            session = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ConfigurationError(f"cannot load the descriptor model: {exc}") from exc
        input_name, height, width = _image_input(session, size)
        dimensions = _vector_output(session)
        batched = session.get_inputs()[0].shape[0] != 1
        label = name or (Path(model).stem if not isinstance(model, bytes) else "onnx")
        return cls(
            label,
            session,
            input_name,
            height,
            width,
            dimensions,
            batched,
            _triple(mean, "mean"),
            _triple(std, "std"),
        )

    def embed(self, rgb: np.ndarray) -> np.ndarray:
        """The L2-normalised embedding of an H x W x 3 uint8 picture (float32, ``dimensions``)."""
        vector: np.ndarray = self.embed_many([rgb])[0]
        return vector

    def embed_many(self, pictures: Sequence[np.ndarray]) -> np.ndarray:
        """Embeddings of several pictures, one model run: ``len(pictures) x dimensions``."""
        if not pictures:
            return np.zeros((0, self.dimensions), np.float32)
        tensors = [self._tensor(p) for p in pictures]
        batches = [np.stack(tensors)] if self.batched else [t[None] for t in tensors]
        vectors = np.concatenate([self._run(b) for b in batches]).reshape(len(pictures), -1)
        if vectors.shape[1] != self.dimensions:
            raise ConfigurationError(
                f"the descriptor model returned {vectors.shape[1]} values, not {self.dimensions}"
            )
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.where(norms > 0, vectors / np.maximum(norms, 1e-12), 0.0).astype(np.float32)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        try:
            out = self.session.run(None, {self.input_name: batch})[0]
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ConfigurationError(f"the descriptor model failed to run: {exc}") from exc
        return np.asarray(out, np.float32).reshape(batch.shape[0], -1)

    def _tensor(self, rgb: np.ndarray) -> np.ndarray:
        if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3:
            raise InvalidInput("a descriptor needs an H x W x 3 uint8 picture")
        picture = Image.fromarray(rgb[..., :3]).resize(
            (self.width, self.height), Image.Resampling.BILINEAR
        )
        scaled = np.asarray(picture, np.float32) / np.float32(255.0)
        mean, std = np.array(self.mean, np.float32), np.array(self.std, np.float32)
        return np.ascontiguousarray(((scaled - mean) / std).transpose(2, 0, 1), np.float32)


def _onnxruntime() -> Any:
    try:
        import onnxruntime  # type: ignore[import-untyped]
    except ImportError as exc:
        raise ConfigurationError(
            "a descriptor model needs onnxruntime: pip install 'keepdown[descriptor]'"
        ) from exc
    return onnxruntime


def _image_input(session: Any, size: tuple[int, int] | None) -> tuple[str, int, int]:
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise ConfigurationError(f"the descriptor model takes {len(inputs)} inputs, not one image")
    shape = list(inputs[0].shape)
    if len(shape) != 4 or shape[1] != 3 or "float" not in str(inputs[0].type):
        raise ConfigurationError(
            f"the descriptor model's input is {inputs[0].type} {shape}, not N x 3 x H x W float"
        )
    height, width = shape[2], shape[3]
    if isinstance(height, int) and isinstance(width, int):
        if size is not None and tuple(size) != (height, width):
            raise ConfigurationError(f"the model's input is {height}x{width}, not {size}")
        return str(inputs[0].name), height, width
    if size is None:
        raise ConfigurationError("the model's input size is not fixed: give size=(height, width)")
    return str(inputs[0].name), int(size[0]), int(size[1])


def _vector_output(session: Any) -> int:
    outputs = session.get_outputs()
    shape = list(outputs[0].shape) if outputs else []
    if len(shape) != 2 or not isinstance(shape[1], int) or shape[1] < 1:
        raise ConfigurationError(f"the descriptor model's output is {shape}, not N x D")
    return int(shape[1])


def _triple(values: Sequence[float], what: str) -> tuple[float, float, float]:
    if len(values) != 3 or (what == "std" and any(v <= 0 for v in values)):
        raise ConfigurationError(f"descriptor {what} must be three numbers (positive for std)")
    return float(values[0]), float(values[1]), float(values[2])
