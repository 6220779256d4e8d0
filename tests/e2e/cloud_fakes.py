"""Fake Azure OpenAI and Vertex AI (Gemini + Claude publishers) on 127.0.0.1, checking each request's URL and auth.

Azure answers only ``api-key: az-key`` on deployment URLs with ``api-version``; Vertex only ``Bearer ya29.fake-*``
on ``/v1/projects/proj-e2e/locations/us-east5/publishers/...``. The last user text ``tool`` asks for a tool call.
Streams start the way the real services do (Azure: a prompt-filter-only chunk). Requests land in ``seen``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web

from tests.e2e.fakes import free_port, last_text

PROJECT, LOCATION = "proj-e2e", "us-east5"
VERTEX = re.compile(rf"^/v1/projects/{PROJECT}/locations/{LOCATION}/publishers/(google|anthropic)/models/([^/:]+):(\w+)$")
AZURE = re.compile(r"^/openai/deployments/([^/]+)/(chat/completions|embeddings|images/generations)$")


def sse(events: list[tuple[str | None, Any]]) -> bytes:
    out = b""
    for name, data in events:
        out += (f"event: {name}\n" if name else "").encode() + b"data: " + json.dumps(data).encode() + b"\n\n"
    return out


class FakeClouds:
    def __init__(self) -> None:
        self.port = free_port()
        self.seen: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.seen.append((str(request.rel_url), body, dict(request.headers)))
        if (m := AZURE.match(request.path)) is not None:
            if request.headers.get("api-key") != "az-key" or request.query.get("api-version") != "2024-10-21":
                return web.json_response({"error": {"code": "401", "message": "Access denied"}}, status=401)
            return await self.azure(request, m.group(1), m.group(2), body)
        if (m := VERTEX.match(request.path)) is not None:
            if not request.headers.get("authorization", "").startswith("Bearer ya29.fake-"):
                return web.json_response({"error": {"code": 401, "message": "no token", "status": "UNAUTHENTICATED"}},
                                         status=401)
            return await self.vertex(request, m.group(1), m.group(2), m.group(3), body)
        return web.json_response({"error": {"message": f"no route {request.path}"}}, status=404)

    # --- Azure -----------------------------------------------------------------------------------------
    async def azure(self, request: web.Request, deployment: str, op: str, body: dict[str, Any]) -> web.StreamResponse:
        filters = {"hate": {"filtered": False, "severity": "safe"}}
        if op == "embeddings":
            inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            vec = [0.5, -0.25, 0.125]
            data = [{"object": "embedding", "index": i,
                     "embedding": base64.b64encode(struct.pack("<3f", *vec)).decode()
                     if body.get("encoding_format") == "base64" else vec} for i in range(len(inputs))]
            return web.json_response({"object": "list", "data": data, "model": "text-embedding-3-small",
                                      "usage": {"prompt_tokens": 4, "total_tokens": 4}})
        if op == "images/generations":
            return web.json_response({"created": 1, "data": [{"b64_json": "aW1n", "content_filter_results": filters}]})
        wants_tool = last_text(body) == "tool"
        message: dict[str, Any] = {"role": "assistant", "content": None if wants_tool else f"hi from {deployment}"}
        if wants_tool:
            message["tool_calls"] = [{"id": "call_1", "type": "function",
                                      "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]
        finish = "tool_calls" if wants_tool else "stop"
        prompt_filter = [{"prompt_index": 0, "content_filter_results": filters}]
        if not body.get("stream"):
            return web.json_response({
                "id": "chatcmpl-az", "object": "chat.completion", "created": 1, "model": "gpt-4o-2024-08-06",
                "prompt_filter_results": prompt_filter,
                "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None,
                             "content_filter_results": filters}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}})
        head = {"id": "chatcmpl-az", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-2024-08-06"}
        delta: dict[str, Any] = {"role": "assistant", "content": ""}
        events: list[tuple[str | None, Any]] = [
            (None, {"choices": [], "created": 0, "id": "", "model": "", "object": "", "prompt_filter_results": prompt_filter}),
            (None, {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})]
        if wants_tool:
            call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}
            events.append((None, {**head, "choices": [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None}]}))
            events.append((None, {**head, "choices": [{"index": 0, "delta": {"tool_calls": [
                {"index": 0, "function": {"arguments": '{"city":"Paris"}'}}]}, "finish_reason": None}]}))
        else:
            for piece in ("hi ", "from ", deployment):
                events.append((None, {**head, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None,
                                                          "content_filter_results": filters}]}))
        events.append((None, {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": finish,
                                                  "content_filter_results": {}}]}))
        return await self.stream(request, sse(events) + b"data: [DONE]\n\n")

    # --- Vertex ----------------------------------------------------------------------------------------
    async def vertex(self, request: web.Request, publisher: str, model: str, method: str,
                     body: dict[str, Any]) -> web.StreamResponse:
        text = f"hi from {publisher}/{model}"
        if publisher == "google":
            if method == "predict" and len(body.get("instances") or []) == 1:  # one input per request
                size = len(body["instances"][0]["content"])
                return web.json_response({"predictions": [{"embeddings": {
                    "values": [float(size), 0.5, -1.0], "statistics": {"token_count": size, "truncated": False}}}]})
            if method == "generateContent":
                return web.json_response({"candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                                                          "finishReason": "STOP"}],
                                          "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 4,
                                                            "totalTokenCount": 12}, "modelVersion": model})
            if method == "streamGenerateContent" and request.query.get("alt") == "sse":
                words = text.split(" ")
                events: list[tuple[str | None, Any]] = [
                    (None, {"candidates": [{"content": {"role": "model", "parts": [{"text": w + " "}]}}]}) for w in words[:-1]]
                events.append((None, {"candidates": [{"content": {"role": "model", "parts": [{"text": words[-1]}]},
                                                      "finishReason": "STOP"}],
                                      "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 4,
                                                        "totalTokenCount": 12}}))
                return await self.stream(request, sse(events))
        if publisher == "anthropic" and body.get("anthropic_version") == "vertex-2023-10-16" and "model" not in body:
            if method == "rawPredict":
                return web.json_response({"id": "msg_v", "type": "message", "role": "assistant", "model": model,
                                          "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
                                          "usage": {"input_tokens": 9, "output_tokens": 3}})
            if method == "streamRawPredict":
                events = [
                    ("message_start", {"type": "message_start", "message": {
                        "id": "msg_v", "type": "message", "role": "assistant", "model": model, "content": [],
                        "usage": {"input_tokens": 9, "output_tokens": 1}}}),
                    ("content_block_start", {"type": "content_block_start", "index": 0,
                                             "content_block": {"type": "text", "text": ""}})]
                for w in text.split(" "):
                    events.append(("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                           "delta": {"type": "text_delta", "text": w + " "}}))
                events += [("content_block_stop", {"type": "content_block_stop", "index": 0}),
                           ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                                              "usage": {"output_tokens": 3}}),
                           ("message_stop", {"type": "message_stop"})]
                return await self.stream(request, sse(events))
        return web.json_response({"error": {"code": 400, "message": "bad request", "status": "INVALID_ARGUMENT"}},
                                 status=400)

    async def stream(self, request: web.Request, payload: bytes) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await resp.prepare(request)
        for i in range(0, len(payload), 97):  # split frames across writes
            await resp.write(payload[i:i + 97])
        await resp.write_eof()
        return resp

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("POST", "/{tail:.*}", self.handle)
        return app

    @contextmanager
    def running(self) -> Iterator[FakeClouds]:
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self.loop = loop
            runner = web.AppRunner(self.app(), access_log=None)
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        ready.wait(10)
        try:
            yield self
        finally:
            assert self.loop is not None
            self.loop.call_soon_threadsafe(self.loop.stop)
            thread.join(10)
