"""The `tiny` backend: randomly initialised CLIP + BLIP of the real classes, built in-process for tests.

Its outputs are deterministic (fixed seed) but carry no meaning; every response says so.
"""

from __future__ import annotations

import string

import torch
from transformers import BertTokenizer, BlipConfig, BlipForConditionalGeneration, CLIPConfig, CLIPModel, CLIPTokenizer

from sightline.inference.models.clip import Captioner, ClipBackend, PixelSpec

TINY_IMAGE_SIZE = 32
TINY_LAYERS = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2)
CAPTION_WORDS = "a photo of the cat dog tree sky house car person beach mountain flower on in with".split()


def _clip_tokenizer() -> CLIPTokenizer:
    symbols = list(string.ascii_lowercase + string.digits)
    vocab = {symbol: index for index, symbol in enumerate(symbols)}
    vocab.update({f"{symbol}</w>": len(vocab) + index for index, symbol in enumerate(symbols)})
    for special in ("<|startoftext|>", "<|endoftext|>"):
        vocab[special] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[])


def _blip_tokenizer() -> BertTokenizer:
    vocab = {token: index for index, token in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])}
    vocab.update({word: len(vocab) + index for index, word in enumerate(CAPTION_WORDS)})
    return BertTokenizer(vocab=vocab)


def _tiny_clip(tokenizer: CLIPTokenizer) -> CLIPModel:
    end = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    text = dict(
        TINY_LAYERS,
        vocab_size=len(tokenizer),
        max_position_embeddings=77,
        bos_token_id=tokenizer.convert_tokens_to_ids("<|startoftext|>"),
        eos_token_id=end,
        pad_token_id=end,
    )
    vision = dict(TINY_LAYERS, image_size=TINY_IMAGE_SIZE, patch_size=8)
    return CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=64))


def _tiny_blip(tokenizer: BertTokenizer) -> BlipForConditionalGeneration:
    text = dict(
        TINY_LAYERS,
        vocab_size=len(tokenizer),
        encoder_hidden_size=TINY_LAYERS["hidden_size"],
        max_position_embeddings=64,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
        sep_token_id=tokenizer.sep_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    vision = dict(TINY_LAYERS, image_size=TINY_IMAGE_SIZE, patch_size=8)
    return BlipForConditionalGeneration(BlipConfig(text_config=text, vision_config=vision, projection_dim=32))


def build_tiny_backend(device: str = "cpu") -> ClipBackend:
    torch.manual_seed(0)
    clip_tokenizer = _clip_tokenizer()
    blip_tokenizer = _blip_tokenizer()
    captioner = Captioner(
        _tiny_blip(blip_tokenizer),
        blip_tokenizer,
        PixelSpec(size=TINY_IMAGE_SIZE, crop=False),
        name="tiny-random-blip",
        max_new_tokens=8,
    )
    return ClipBackend(
        _tiny_clip(clip_tokenizer),
        clip_tokenizer,
        PixelSpec(size=TINY_IMAGE_SIZE, crop=True),
        backend="tiny",
        model_name="tiny-random-clip",
        captioner=captioner,
        device=device,
        meaningful=False,
    )
