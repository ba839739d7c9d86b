"""A JSON request body read and validated off the event loop, for routes whose bodies may be hundreds of MB.

FastAPI parses and validates a body parameter on the event loop, so one large authorised request stalls
`/health` and every other client for seconds. Routes that take `request: Request` and call `parse_json`
instead parse it in a worker thread; `json_body` keeps the model in their OpenAPI schema.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


async def parse_json(request: Request, model: type[Model]) -> Model:
    """The body as `model`; invalid JSON or a schema mismatch is the usual structured 422."""
    raw = await request.body()
    try:
        return await asyncio.to_thread(model.model_validate_json, raw)
    except ValidationError as exc:
        errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` documenting `model` as the route's required JSON body (nested models inlined)."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _inline(schema, definitions)}},
        }
    }


def _inline(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        reference = node.get("$ref", "")
        if reference.startswith("#/$defs/"):
            return _inline(definitions[reference.removeprefix("#/$defs/")], definitions)
        return {key: _inline(value, definitions) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(value, definitions) for value in node]
    return node
