"""Bedrock InvokeModel bodies for embeddings and images (each model family has its own native body).

Titan Text Embeddings take one text per call (a list input fans out, order kept, token counts summed);
Cohere Embed takes a batch; Titan Image / Nova Canvas and Stability return base64 images. The family is
read from the model id's prefix: that is Bedrock's own naming, not a provider branch.
"""

from __future__ import annotations

from typing import Any

import msgspec

from vllora.cost import image_cost, usage_cost
from vllora.errors import CapabilityNotSupported, InvalidRequest, UpstreamProtocolError
from vllora.providers.base import JSON, Target, UpstreamResponse
from vllora.providers.embeddings import encode_vectors, text_inputs
from vllora.providers.openai_shapes import now_s

TITAN_DIMENSIONS = (256, 512, 1024)
_encode = msgspec.json.Encoder().encode


def _family(model: str) -> str:
    base = model.split(".", 1)[1] if model.split(".", 1)[0] in ("us", "eu", "apac", "global") else model
    for prefix, family in (("amazon.titan-embed", "titan-embed"), ("cohere.embed", "cohere-embed"),
                           ("amazon.titan-image", "titan-image"), ("amazon.nova-canvas", "titan-image"),
                           ("stability.", "stability")):
        if base.startswith(prefix):
            return family
    return "unknown"


def embedding_payloads(body: JSON, model: str) -> list[bytes]:
    texts, _ = text_inputs(body)
    family = _family(model)
    if family == "titan-embed":
        dims = body.get("dimensions")
        if dims is not None and dims not in TITAN_DIMENSIONS:
            raise InvalidRequest("Titan embeddings support dimensions 256, 512 or 1024", param="dimensions")
        extra: JSON = {} if "v1" in model else {"normalize": True, **({"dimensions": dims} if dims else {})}
        return [_encode({"inputText": t, **extra}) for t in texts]
    if family == "cohere-embed":
        input_type = body.get("input_type") if isinstance(body.get("input_type"), str) else "search_document"
        return [_encode({"texts": texts, "input_type": input_type, "embedding_types": ["float"]})]
    raise CapabilityNotSupported(f"no embeddings mapping for Bedrock model {model!r}", param="model")


def _json(resp: UpstreamResponse) -> Any:
    try:
        return msgspec.json.decode(resp.body)
    except msgspec.DecodeError:
        raise UpstreamProtocolError("Bedrock's reply was not JSON") from None


def embedding_response(resps: list[UpstreamResponse], target: Target, body: JSON) -> JSON:
    vectors: list[list[float]] = []
    tokens = 0
    for resp in resps:
        data = _json(resp)
        if "embedding" in data:
            vectors.append(data["embedding"])
            tokens += int(data.get("inputTextTokenCount") or 0)
        else:
            embeddings = data.get("embeddings")
            batch = embeddings.get("float") if isinstance(embeddings, dict) else embeddings
            vectors.extend(batch or [])
            tokens += int(resp.headers.get("x-amzn-bedrock-input-token-count") or 0)
    used = {"prompt_tokens": tokens, "total_tokens": tokens}
    return {"object": "list", "model": target.model, "data": encode_vectors(vectors, body),
            "usage": {**used, "cost": usage_cost(used, target.pricing)}}


def _size(body: JSON) -> tuple[int, int]:
    size = body.get("size") or "1024x1024"
    try:
        width, height = (int(v) for v in str(size).lower().split("x"))
    except ValueError:
        raise InvalidRequest("'size' must look like 1024x1024", param="size") from None
    return width, height


def image_payload(body: JSON, model: str) -> bytes:
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        raise InvalidRequest("'prompt' is required", param="prompt")
    n = body.get("n") if isinstance(body.get("n"), int) else 1
    family = _family(model)
    if family == "titan-image":
        width, height = _size(body)
        quality = "premium" if body.get("quality") in ("hd", "high") else "standard"
        return _encode({"taskType": "TEXT_IMAGE", "textToImageParams": {"text": prompt},
                        "imageGenerationConfig": {"numberOfImages": n, "width": width, "height": height, "quality": quality}})
    if family == "stability":
        return _encode({"prompt": prompt, "output_format": "png"})
    raise CapabilityNotSupported(f"no image mapping for Bedrock model {model!r}", param="model")


def image_response(resps: list[UpstreamResponse], target: Target) -> JSON:
    data = _json(resps[0])
    images = [i for i in data.get("images") or [] if isinstance(i, str)]
    return {"created": now_s(), "data": [{"b64_json": i} for i in images],
            "usage": {"cost": image_cost(len(images), target.pricing)}}
