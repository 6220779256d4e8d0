"""A fake of four providers on 127.0.0.1 (aiohttp.web in a background thread), scripted by the prompt text.

The last user text picks the scenario: ``hello`` (a plain reply), ``tool`` (a tool call), ``err429``,
``err400``, ``err500`` (always), ``flaky`` (500 once, then fine), ``hang`` (never answers), ``die`` (a stream
that breaks mid-way), ``garbage`` (undecodable body). The Bedrock routes verify SigV4 with botocore.
Every request is recorded in ``FakeUpstream.seen``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web

from vllora.providers.eventstream import encode_message

AKID, SECRET, REGION = "AKIDFAKE", "fake-secret", "us-east-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def last_text(body: dict[str, Any]) -> str:
    """The last user text in any of the four request formats."""
    history = body.get("messages") or body.get("contents") or []
    if history and history[-1].get("role") == "tool":
        return "after-tool"
    for m in reversed(history):
        if m.get("role") != "user":
            continue
        content = m.get("content", m.get("parts"))
        if isinstance(content, str):
            return content
        for part in reversed(content or []):
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                return part["text"]
            if isinstance(part, dict) and (part.get("type") == "tool_result" or "toolResult" in part or "functionResponse" in part):
                return "after-tool"
    return ""


def reply_text(text: str) -> str:
    """What every fake answers: ``echo: <text>``, or the text itself when it is a JSON object (structured outputs)."""
    return text if text.startswith("{") else f"echo: {text}"


def reply_pieces(text: str) -> list[str]:
    return [text] if text.startswith("{") else ["echo", ": ", text]


class FakeUpstream:
    def __init__(self) -> None:
        self.port = free_port()
        self.seen: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.flaky: dict[str, int] = {}
        self.closed_streams = 0
        self.active_streams = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self.runner: web.AppRunner | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # scenario gate shared by all protocols -----------------------------------------------------------
    async def gate(self, key: str, text: str, error_body: Any) -> web.StreamResponse | None:
        if text == "err429":
            return web.json_response(error_body(429, "rate limited"), status=429, headers={"retry-after": "0"})
        if text == "err400":
            return web.json_response(error_body(400, "bad request upstream"), status=400)
        if text == "err500":
            return web.json_response(error_body(500, "boom"), status=500)
        if text == "flaky":
            self.flaky[key] = self.flaky.get(key, 0) + 1
            if self.flaky[key] == 1:
                return web.json_response(error_body(503, "try again"), status=503)
        if text == "hang":
            await asyncio.sleep(30)
        if text == "garbage":
            return web.Response(body=b"<html>oops", content_type="text/html")
        return None

    async def _sse(self, request: web.Request, frames: list[bytes], die: bool, pause: float = 0.002) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await resp.prepare(request)
        self.active_streams += 1
        try:
            for i, frame in enumerate(frames):
                if die and i == 2:
                    assert request.transport is not None
                    request.transport.close()
                    return resp
                await resp.write(frame)
                await asyncio.sleep(pause)
        except (ConnectionResetError, asyncio.CancelledError):
            self.closed_streams += 1
            raise
        finally:
            self.active_streams -= 1
        return resp

    # OpenAI -----------------------------------------------------------------------------------------
    async def openai_chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.seen.append((request.path, body, dict(request.headers)))
        text = last_text(body)
        gate = await self.gate("openai", text, lambda s, m: {"error": {"message": m, "type": "x", "code": f"c{s}"}})
        if gate is not None:
            return gate
        model = body["model"]
        calls = [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": None if text == "tool" else reply_text(text)}
            if text == "tool":
                message["tool_calls"] = calls
            return web.json_response({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
                                      "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if text == "tool" else "stop"}],
                                      "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}})

        def frame(delta: dict[str, Any], finish: str | None = None, usage: Any = None, choices: bool = True) -> bytes:
            obj = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model,
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if choices else [], "usage": usage}
            return b"data: " + json.dumps(obj).encode() + b"\n\n"

        frames = [frame({"role": "assistant", "content": ""})]
        if text == "tool":
            frames += [frame({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                              "function": {"name": "get_weather", "arguments": ""}}]}),
                       frame({"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]}),
                       frame({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
                       frame({}, "tool_calls")]
        else:
            frames += [frame({"content": w}) for w in reply_pieces(text)] + [frame({}, "stop")]
        if (body.get("stream_options") or {}).get("include_usage"):
            frames.append(frame({}, usage={"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}, choices=False))
        frames.append(b"data: [DONE]\n\n")
        if text == "slow":
            return await self._sse(request, frames[:1] * 100, False, pause=0.1)
        return await self._sse(request, frames, text == "die")

    async def openai_embeddings(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.seen.append((request.path, body, dict(request.headers)))
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        vectors = [[float(i), 0.5, -0.25] for i in range(len(inputs))]
        data = [{"object": "embedding", "index": i,
                 "embedding": base64.b64encode(struct.pack("<3f", *v)).decode() if body.get("encoding_format") == "base64" else v}
                for i, v in enumerate(vectors)]
        return web.json_response({"object": "list", "model": body["model"], "data": data,
                                  "usage": {"prompt_tokens": 4 * len(inputs), "total_tokens": 4 * len(inputs)}})

    async def openai_images(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.seen.append((request.path, body, dict(request.headers)))
        n = body.get("n") or 1
        key = "b64_json" if body.get("response_format") == "b64_json" else "url"
        value = base64.b64encode(b"\x89PNG fake").decode() if key == "b64_json" else "https://images.example/1.png"
        return web.json_response({"created": 1, "data": [{key: value} for _ in range(n)]})

    # Anthropic --------------------------------------------------------------------------------------
    async def anthropic_messages(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.seen.append((request.path, body, dict(request.headers)))
        text = last_text(body)
        gate = await self.gate("anthropic", text, lambda s, m: {"type": "error", "error": {"type": "rate_limit_error" if s == 429 else "api_error", "message": m}})
        if gate is not None:
            return gate
        if text == "err529":
            return web.json_response({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, status=529)
        usage = {"input_tokens": 20, "output_tokens": 7, "cache_read_input_tokens": 5, "cache_creation_input_tokens": 0}
        if not body.get("stream"):
            content: list[dict[str, Any]] = [{"type": "text", "text": reply_text(text)}]
            stop = "end_turn"
            if text == "tool":
                content = [{"type": "text", "text": "Checking."},
                           {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]
                stop = "tool_use"
            if body.get("thinking"):
                content.insert(0, {"type": "thinking", "thinking": "Let me think.", "signature": "c2ln"})
            return web.json_response({"id": "msg_1", "type": "message", "role": "assistant", "model": body["model"],
                                      "content": content, "stop_reason": stop, "usage": usage})

        def ev(name: str, obj: dict[str, Any]) -> bytes:
            return f"event: {name}\ndata: {json.dumps(obj)}\n\n".encode()

        frames = [ev("message_start", {"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": body["model"], "content": [], "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 20, "output_tokens": 1}}}),
                  ev("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
                  ev("ping", {"type": "ping"})]
        if text == "tool":
            frames += [ev("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Checking."}}),
                       ev("content_block_stop", {"type": "content_block_stop", "index": 0}),
                       ev("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}}),
                       ev("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": '{"city": '}}),
                       ev("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": '"Paris"}'}}),
                       ev("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}})]
        else:
            frames += [ev("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": w}}) for w in reply_pieces(text)]
            frames += [ev("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 7}})]
        frames.append(ev("message_stop", {"type": "message_stop"}))
        return await self._sse(request, frames, text == "die")

    async def anthropic_count_tokens(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.seen.append((request.path, body, dict(request.headers)))
        return web.json_response({"input_tokens": 42})

    # Gemini -----------------------------------------------------------------------------------------
    async def gemini(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.seen.append((request.path, body, dict(request.headers)))
        model, _, method = request.match_info["tail"].partition(":")
        if method == "embedContent":
            return web.json_response({"embedding": {"values": [0.1, 0.2, 0.3]}})
        if method == "batchEmbedContents":
            return web.json_response({"embeddings": [{"values": [float(i), 1.0, 2.0]} for i in range(len(body["requests"]))]})
        if method == "countTokens":
            return web.json_response({"totalTokens": 11})
        if method == "predict":
            return web.json_response({"predictions": [{"bytesBase64Encoded": base64.b64encode(b"img").decode(), "mimeType": "image/png"}
                                                      for _ in range(body["parameters"]["sampleCount"])]})
        text = last_text(body)
        gate = await self.gate("gemini", text, lambda s, m: {"error": {"code": s, "message": m, "status": "RESOURCE_EXHAUSTED" if s == 429 else "INTERNAL"}})
        if gate is not None:
            return gate
        usage = {"promptTokenCount": 12, "candidatesTokenCount": 6, "totalTokenCount": 18}
        parts: list[dict[str, Any]] = [{"text": reply_text(text)}]
        if text == "tool":
            parts = [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "c2lnbmF0dXJl"}]
        if text == "think":
            return await self.gemini_think(request, method, model, usage)
        if method == "generateContent":
            return web.json_response({"candidates": [{"index": 0, "finishReason": "STOP", "content": {"role": "model", "parts": parts}}],
                                      "usageMetadata": usage, "modelVersion": model, "responseId": "r1"})
        chunks = [{"candidates": [{"index": 0, "content": {"role": "model", "parts": [p]}}], "usageMetadata": usage, "modelVersion": model, "responseId": "r1"}
                  for p in ([{"text": w} for w in reply_pieces(text)] if text != "tool" else parts)]
        chunks[-1]["candidates"][0]["finishReason"] = "STOP"
        frames = [b"data: " + json.dumps(c).encode() + b"\r\n\r\n" for c in chunks]
        if text == "die":
            frames = frames[:2] + [b"x"] * 3
        return await self._sse(request, frames, text == "die")

    async def gemini_think(self, request: web.Request, method: str, model: str, usage: dict[str, Any]) -> web.StreamResponse:
        """A thought part, then the answer (two chunks when streamed)."""
        parts = [{"text": "Let me think.", "thought": True}, {"text": "echo: think"}]
        if method == "generateContent":
            return web.json_response({"candidates": [{"index": 0, "finishReason": "STOP", "content": {"role": "model", "parts": parts}}],
                                      "usageMetadata": usage, "modelVersion": model, "responseId": "r1"})
        chunks = [{"candidates": [{"index": 0, "content": {"role": "model", "parts": [p]}}], "usageMetadata": usage,
                   "modelVersion": model, "responseId": "r1"} for p in parts]
        chunks[-1]["candidates"][0]["finishReason"] = "STOP"
        return await self._sse(request, [b"data: " + json.dumps(c).encode() + b"\r\n\r\n" for c in chunks], False)

    # Bedrock ----------------------------------------------------------------------------------------
    def verify_sigv4(self, request: web.Request, raw_body: bytes) -> bool:
        from datetime import datetime
        from unittest import mock

        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        auth = request.headers.get("authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return False
        fields = dict(item.strip().split("=", 1) for item in auth[len("AWS4-HMAC-SHA256 "):].split(","))
        signed = fields["SignedHeaders"].split(";")
        headers = {name: request.headers[name] for name in signed if name != "host"}
        url = f"http://{request.headers['host']}{request.raw_path}"
        req = AWSRequest(method=request.method, url=url, data=raw_body, headers=headers)
        stamp = datetime.strptime(request.headers["x-amz-date"], "%Y%m%dT%H%M%SZ")
        with mock.patch("botocore.auth.get_current_datetime", return_value=stamp):
            SigV4Auth(Credentials(AKID, SECRET, request.headers.get("x-amz-security-token")), "bedrock", REGION).add_auth(req)
        return bool(req.headers["Authorization"] == auth)

    async def bedrock(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body = json.loads(raw)
        self.seen.append((request.raw_path, body, dict(request.headers)))
        if not self.verify_sigv4(request, raw):
            return web.json_response({"message": "The request signature we calculated does not match"}, status=403,
                                     headers={"x-amzn-errortype": "InvalidSignatureException:http://internal.amazon.com/"})
        _model, action = request.match_info["model"], request.match_info["action"]
        if action == "count-tokens":
            return web.json_response({"inputTokens": 13})
        if action == "invoke":
            if "inputText" in body:
                return web.json_response({"embedding": [float(len(body["inputText"])), 0.0], "inputTextTokenCount": 3})
            if "textToImageParams" in body:
                n = body["imageGenerationConfig"]["numberOfImages"]
                return web.json_response({"images": [base64.b64encode(b"canvas").decode()] * n})
        text = last_text(body)
        gate = await self.gate("bedrock", text, lambda s, m: {"message": m})
        if gate is not None:
            if gate.status == 429:
                gate.headers["x-amzn-errortype"] = "ThrottlingException:http://internal.amazon.com/"
            return gate
        usage = {"inputTokens": 15, "outputTokens": 4, "totalTokens": 19}
        if action == "converse":
            content: list[dict[str, Any]] = [{"text": reply_text(text)}]
            stop = "end_turn"
            if text == "tool":
                content = [{"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}}]
                stop = "tool_use"
            return web.json_response({"output": {"message": {"role": "assistant", "content": content}}, "stopReason": stop,
                                      "usage": usage}, headers={"x-amzn-requestid": "req-1"})

        def ev(name: str, obj: dict[str, Any]) -> bytes:
            return encode_message({":event-type": name, ":content-type": "application/json", ":message-type": "event"},
                                  json.dumps(obj).encode())

        frames = [ev("messageStart", {"role": "assistant"})]
        if text == "tool":
            frames += [ev("contentBlockStart", {"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather"}}}),
                       ev("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": '{"city":'}}}),
                       ev("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": '"Paris"}'}}}),
                       ev("messageStop", {"stopReason": "tool_use"})]
        else:
            frames += [ev("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": w}, "p": "abcdefgh"}) for w in reply_pieces(text)]
            frames += [ev("messageStop", {"stopReason": "end_turn"})]
        frames.append(ev("metadata", {"usage": usage, "metrics": {"latencyMs": 5}}))
        joined = b"".join(frames)  # re-split at odd boundaries to exercise the decoder
        pieces = [joined[i:i + 37] for i in range(0, len(joined), 37)]
        resp = web.StreamResponse(headers={"content-type": "application/vnd.amazon.eventstream"})
        await resp.prepare(request)
        for i, piece in enumerate(pieces):
            if text == "die" and i == 3:
                assert request.transport is not None
                request.transport.close()
                return resp
            await resp.write(piece)
        return resp

    # lifecycle --------------------------------------------------------------------------------------
    async def openai_responses(self, request: web.Request) -> web.StreamResponse:
        from tests.e2e.fake_responses import openai_responses

        return await openai_responses(self, request)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/openai/v1/chat/completions", self.openai_chat)
        app.router.add_post("/openai/v1/embeddings", self.openai_embeddings)
        app.router.add_post("/openai/v1/images/generations", self.openai_images)
        app.router.add_post("/openai/v1/responses", self.openai_responses)
        app.router.add_post("/anthropic/v1/messages", self.anthropic_messages)
        app.router.add_post("/anthropic/v1/messages/count_tokens", self.anthropic_count_tokens)
        app.router.add_post("/gemini/v1beta/models/{tail}", self.gemini)
        app.router.add_post("/bedrock/model/{model}/{action}", self.bedrock)
        return app

    @contextmanager
    def running(self) -> Iterator[FakeUpstream]:
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self.loop = loop
            self.runner = web.AppRunner(self.app(), access_log=None)
            loop.run_until_complete(self.runner.setup())
            loop.run_until_complete(web.TCPSite(self.runner, "127.0.0.1", self.port).start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.runner.cleanup())
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
