"""Request and response shapes of the ML service (a superset of the original service's).

This is the original-compatible edge: only here do `embedding_model` / `caption_model` take the original
service's names `model_name_clip` / `model_name_blip`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sightline.errors import ItemError
from sightline.inference.models.base import ModelInfo


class ImageItem(BaseModel):
    unique_id: str = Field(description="Caller's id, echoed back in the result.")
    image_base64: str = Field(description="The image file's bytes, base64-encoded (data: URLs accepted).")
    filename: str | None = Field(default=None, description="Echoed back; the format comes from the bytes.")


class BatchRequest(BaseModel):
    images: list[ImageItem] = Field(description="Images to embed (and caption), answered in this order.")
    caption: bool | None = Field(
        default=None, description="Generate captions; wins over the ?caption= query parameter."
    )


class ImageResult(BaseModel):
    unique_id: str
    filename: str | None
    embedding: list[float] | None = Field(description="L2-normalised image embedding, null on error.")
    embedding_shape: list[int] | None
    caption: str | None = Field(description='Caption; "" when captioning is off; null on error.')
    caption_kind: Literal["generated", "label-based", "none"] | None = None
    format: str | None = Field(default=None, description="Format detected from the bytes.")
    width: int | None = Field(default=None, description="Original width after EXIF orientation.")
    height: int | None = None
    phash: str | None = Field(default=None, description="64-bit perceptual hash (dHash) of the image, 16 hex digits: "
                              "copies of one photo differ in a few bits.")
    model_name_clip: str = Field(description="The embedding model (the original service's name for it).")
    model_name_blip: str | None = Field(description="The caption model (the original service's name for it).")
    device_used: str
    error: ItemError | None = Field(description="null, or {code, message} for this item only.")


class ModelSummary(BaseModel):
    backend: str
    embedding_model: str
    dimension: int
    caption_model: str | None
    caption_kind: str
    meaningful: bool = Field(description="False for the random `tiny` test models.")

    @classmethod
    def from_info(cls, info: ModelInfo) -> "ModelSummary":
        return cls.model_validate(info, from_attributes=True)


class BatchResponse(BaseModel):
    results: list[ImageResult]
    model: ModelSummary
    timings: dict[str, float] = Field(description="Seconds spent preprocessing and in the model.")


class TextRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: str | None = Field(default=None, description="One text (the original service's form).")
    description: str | None = Field(default=None, description="Accepted for compatibility; unused.")
    texts: list[str] | None = Field(default=None, description="Several texts, embedded in one batch.")

    @model_validator(mode="after")
    def one_form(self) -> "TextRequest":
        if (self.text is None) == (self.texts is None):
            raise ValueError('give exactly one of "text" or "texts"')
        if self.texts is not None and not self.texts:
            raise ValueError('"texts" must not be empty')
        return self


class SingleTextResponse(BaseModel):
    embedding: list[float]
    embedding_shape: list[int]
    model_name: str


class TextBatchResponse(BaseModel):
    embeddings: list[list[float]]
    embedding_shape: list[int]
    model_name: str


class MessageResponse(BaseModel):
    message: str


def original_model_names(info: ModelInfo) -> dict[str, str | None]:
    """The model names under the original service's keys."""
    return {"model_name_clip": info.embedding_model, "model_name_blip": info.caption_model}
