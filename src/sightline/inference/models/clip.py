"""The `clip` backend: a transformers CLIPModel for embeddings and an optional BLIP captioner."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from sightline.inference.models.base import ImageBatchOutput, ModelBackend, ModelInfo, l2_normalise

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)
MIN_TOKENIZER_VOCAB = 1000
CAPTION_SIDE_SLACK = 0.95  # an offline from_pretrained can silently return a 2-token tokenizer


@dataclass(frozen=True)
class PixelSpec:
    """How one model wants its pixels: square side, crop or squash, normalisation."""

    size: int
    crop: bool
    mean: tuple[float, float, float] = OPENAI_MEAN
    std: tuple[float, float, float] = OPENAI_STD

    def to_array(self, image: Image.Image) -> np.ndarray:
        if self.crop:
            scale = self.size / min(image.size)
            resized = image.resize(
                (max(self.size, round(image.width * scale)), max(self.size, round(image.height * scale))),
                Image.Resampling.BICUBIC,
            )
            left = (resized.width - self.size) // 2
            top = (resized.height - self.size) // 2
            resized = resized.crop((left, top, left + self.size, top + self.size))
        else:
            resized = image.resize((self.size, self.size), Image.Resampling.BICUBIC)
        pixels = np.asarray(resized, dtype=np.float32) / 255.0
        pixels = (pixels - np.asarray(self.mean, dtype=np.float32)) / np.asarray(self.std, dtype=np.float32)
        return pixels.transpose(2, 0, 1).copy()


class Captioner:
    """BLIP conditional generation, batched."""

    def __init__(self, model: Any, tokenizer: Any, pixels: PixelSpec, name: str, max_new_tokens: int = 30):
        self.model = model
        self.tokenizer = tokenizer
        self.pixels = pixels
        self.name = name
        self.max_new_tokens = max_new_tokens

    def caption(self, batch: torch.Tensor) -> list[str]:
        token_ids = self.model.generate(pixel_values=batch, max_new_tokens=self.max_new_tokens)
        return [text.strip() for text in self.tokenizer.batch_decode(token_ids, skip_special_tokens=True)]


class ClipBackend(ModelBackend):
    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        pixels: PixelSpec,
        *,
        backend: str,
        model_name: str,
        captioner: Captioner | None,
        device: str,
        meaningful: bool = True,
    ):
        self.model = model.to(device).eval()
        self.tokenizer = tokenizer
        self.pixels = pixels
        self.captioner = captioner
        if captioner is not None:
            captioner.model = captioner.model.to(device).eval()
        self.device = device
        self._lock = threading.Lock()  # one forward pass at a time; torch uses all cores inside it
        dimension = int(model.config.projection_dim)
        # BLIP squashes the whole image to its square input, so a source a few percent smaller is upscaled
        # invisibly; allowing it lets a 12 MP JPEG decode at 1/8 scale (375 px) instead of 1/4 for BLIP's 384.
        caption_side = round(captioner.pixels.size * CAPTION_SIDE_SLACK) if captioner else 0
        min_side = max(pixels.size, caption_side)
        self.info = ModelInfo(
            backend=backend,
            embedding_model=model_name,
            dimension=dimension,
            caption_model=captioner.name if captioner else None,
            caption_kind="generated" if captioner else "none",
            min_image_side=min_side,
            device=device,
            meaningful=meaningful,
        )

    @classmethod
    def from_pretrained(cls, clip_source: str, caption_source: str | None, device: str) -> "ClipBackend":
        from transformers import BlipForConditionalGeneration, BlipProcessor, CLIPModel, CLIPProcessor

        processor = CLIPProcessor.from_pretrained(clip_source)
        tokenizer = processor.tokenizer
        if len(tokenizer) < MIN_TOKENIZER_VOCAB:
            raise RuntimeError(
                f"The CLIP tokenizer loaded from {clip_source!r} has {len(tokenizer)} tokens: the files are "
                "missing or incomplete (offline?). Point SIGHTLINE_CLIP_MODEL at a complete local directory."
            )
        image_processor = processor.image_processor
        clip_pixels = PixelSpec(
            size=int(image_processor.crop_size["height"]),
            crop=True,
            mean=tuple(image_processor.image_mean),
            std=tuple(image_processor.image_std),
        )
        captioner = None
        if caption_source:
            blip_processor = BlipProcessor.from_pretrained(caption_source)
            blip_image = blip_processor.image_processor
            captioner = Captioner(
                BlipForConditionalGeneration.from_pretrained(caption_source),
                blip_processor.tokenizer,
                PixelSpec(
                    size=int(blip_image.size["height"]),
                    crop=False,
                    mean=tuple(blip_image.image_mean),
                    std=tuple(blip_image.image_std),
                ),
                name=caption_source,
            )
        return cls(
            CLIPModel.from_pretrained(clip_source),
            tokenizer,
            clip_pixels,
            backend="clip",
            model_name=clip_source,
            captioner=captioner,
            device=device,
        )

    def preprocess(self, image: Image.Image) -> dict[str, np.ndarray]:
        item = {"clip": self.pixels.to_array(image)}
        if self.captioner is not None:
            item["caption"] = self.captioner.pixels.to_array(image)
        return item

    def _stack(self, items: list[dict[str, np.ndarray]], key: str) -> torch.Tensor:
        return torch.from_numpy(np.stack([item[key] for item in items])).to(self.device)

    def embed_images(self, items: list[Any], caption: bool) -> ImageBatchOutput:
        with self._lock, torch.inference_mode(), self._autocast():
            features = self.model.get_image_features(pixel_values=self._stack(items, "clip")).pooler_output
            captions = None
            if caption:
                captions = (
                    self.captioner.caption(self._stack(items, "caption"))
                    if self.captioner is not None
                    else [""] * len(items)
                )
        return ImageBatchOutput(l2_normalise(features.float().cpu().numpy()), captions)

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        encoded = self.tokenizer(texts, padding=True, truncation=True, max_length=77, return_tensors="pt")
        encoded = {key: value.to(self.device) for key, value in encoded.items()}
        with self._lock, torch.inference_mode(), self._autocast():
            features = self.model.get_text_features(**encoded).pooler_output
        return l2_normalise(features.float().cpu().numpy())

    def _autocast(self) -> Any:
        if self.device.startswith("cuda"):
            return torch.autocast("cuda", dtype=torch.float16)
        return torch.autocast("cpu", enabled=False)

    def unload(self) -> None:
        self.model = None
        self.captioner = None
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
