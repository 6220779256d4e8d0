"""OpenAPI descriptions of the OpenAI-style request bodies.

The POST handlers read their body once, as bytes, for speed (no framework parsing), so Litestar cannot infer
these; each handler names one of the ``Operation`` subclasses below through ``operation_class``.
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema

S = Schema
STRING, NUMBER, INTEGER, BOOLEAN = (S(type=OpenAPIType.STRING), S(type=OpenAPIType.NUMBER),
                                    S(type=OpenAPIType.INTEGER, minimum=1), S(type=OpenAPIType.BOOLEAN))
OBJECT = S(type=OpenAPIType.OBJECT)
STRING_OR_LIST = S(one_of=[STRING, S(type=OpenAPIType.ARRAY, items=STRING)])

MESSAGE = S(
    type=OpenAPIType.OBJECT, required=["role"],
    properties={
        "role": S(type=OpenAPIType.STRING, enum=["system", "developer", "user", "assistant", "tool"]),
        "content": S(one_of=[STRING, S(type=OpenAPIType.ARRAY, items=OBJECT), S(type=OpenAPIType.NULL)]),
        "tool_calls": S(type=OpenAPIType.ARRAY, items=OBJECT),
        "tool_call_id": STRING,
    },
)
CHAT = S(
    type=OpenAPIType.OBJECT, required=["model", "messages"],
    description="OpenAI's chat completions request. Unknown fields are forwarded to OpenAI-compatible providers.",
    properties={
        "model": S(type=OpenAPIType.STRING, description="A catalog id or alias, provider/model, or a route name"),
        "messages": S(type=OpenAPIType.ARRAY, items=MESSAGE, min_items=1),
        "stream": BOOLEAN, "stream_options": OBJECT, "max_tokens": INTEGER, "max_completion_tokens": INTEGER,
        "temperature": NUMBER, "top_p": NUMBER, "n": INTEGER, "stop": STRING_OR_LIST,
        "tools": S(type=OpenAPIType.ARRAY, items=OBJECT), "tool_choice": S(one_of=[STRING, OBJECT]),
        "parallel_tool_calls": BOOLEAN, "response_format": OBJECT, "user": STRING,
    },
)
EMBEDDINGS = S(
    type=OpenAPIType.OBJECT, required=["model", "input"],
    properties={"model": STRING, "input": STRING_OR_LIST, "dimensions": INTEGER,
                "encoding_format": S(type=OpenAPIType.STRING, enum=["float", "base64"]), "user": STRING},
)
IMAGES = S(
    type=OpenAPIType.OBJECT, required=["model", "prompt"],
    properties={"model": STRING, "prompt": STRING, "n": S(type=OpenAPIType.INTEGER, minimum=1, maximum=10),
                "size": STRING, "quality": STRING, "style": STRING,
                "response_format": S(type=OpenAPIType.STRING, enum=["url", "b64_json"]), "user": STRING},
)


def _body(schema: Schema) -> RequestBody:
    return RequestBody(content={"application/json": OpenAPIMediaType(schema=schema)}, required=True)


@dataclass
class ChatOperation(Operation):
    def __post_init__(self) -> None:
        self.request_body = _body(CHAT)


@dataclass
class EmbeddingsOperation(Operation):
    def __post_init__(self) -> None:
        self.request_body = _body(EMBEDDINGS)


@dataclass
class ImagesOperation(Operation):
    def __post_init__(self) -> None:
        self.request_body = _body(IMAGES)
