"""Anthropic Messages API <-> OpenAI chat completions (provider-wire.md section 1). Pure functions.

Quirks handled: system messages lifted to top-level ``system``; ``max_tokens`` always sent (the request's,
else the model's max output from the catalog, else 4096); tool results grouped into one user turn, first;
tool-call ``arguments`` strings become ``input`` objects; ``response_format`` via a forced ``json_tool_call``
tool whose input is returned as the message content; usage normalised (Anthropic's ``input_tokens`` excludes
cache reads and writes); 529 overloaded becomes 503; named SSE events become OpenAI chunks, tool-call
indexes counting tool calls only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from vllora.errors import CapabilityNotSupported, UpstreamProtocolError, UpstreamStatusError
from vllora.providers import messages as msgs
from vllora.providers.base import JSON, Target, UpstreamRequest, UpstreamResponse
from vllora.providers.credentials import API_KEY
from vllora.providers.openai import retry_after
from vllora.providers.openai_shapes import (
    ChunkStream,
    completion,
    max_tokens,
    new_id,
    tool_call,
    usage,
)
from vllora.providers.sse import SSEParser

VERSION = "2023-06-01"
JSON_TOOL = "json_tool_call"
DEFAULT_MAX_TOKENS = 4096
FINISH = {"end_turn": "stop", "stop_sequence": "stop", "pause_turn": "stop", "max_tokens": "length",
          "model_context_window_exceeded": "length", "tool_use": "tool_calls", "refusal": "content_filter"}
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.decode


# --- request -----------------------------------------------------------------------------------------


def _image_block(part: msgs.Part) -> JSON:
    parsed = msgs.data_url(part.url, part.param)
    if parsed is not None:
        return {"type": "image", "source": {"type": "base64", "media_type": parsed.media_type, "data": parsed.data}}
    if part.url.startswith(("http://", "https://")):
        return {"type": "image", "source": {"type": "url", "url": part.url}}
    raise msgs.InvalidRequest("image URLs must be data: or http(s): URLs", param=part.param)


def _cached(block: JSON, part: msgs.Part) -> JSON:
    if part.cache:
        block["cache_control"] = {"type": "ephemeral"}
    return block


def _blocks(content: Any, param: str) -> list[JSON]:
    return [_cached({"type": "text", "text": p.text} if p.kind == "text" else _image_block(p), p)
            for p in msgs.parts(content, param)]


def convert_messages(messages: list[JSON]) -> list[JSON]:
    out: list[JSON] = []
    for i, m in enumerate(messages):
        role = m.get("role")
        if role in ("system", "developer"):
            continue
        if role == "user":
            msgs.append_turn(out, "user", _blocks(m.get("content"), f"messages[{i}].content"))
        elif role == "assistant":
            text = msgs.content_text(m.get("content"), f"messages[{i}].content")
            blocks: list[JSON] = [{"type": "text", "text": text}] if text else []
            blocks += [{"type": "tool_use", "id": cid, "name": name, "input": args}
                       for cid, name, args in msgs.tool_calls(m, i)]
            msgs.append_turn(out, "assistant", blocks)
        elif role in ("tool", "function"):
            text = msgs.content_text(m.get("content"), f"messages[{i}].content")
            block = {"type": "tool_result", "tool_use_id": msgs.tool_call_id(m, i), "content": text}
            msgs.append_tool_result(out, block, lambda b: b["type"] == "tool_result")
    return out


def _tools(body: JSON) -> tuple[list[JSON] | None, JSON | None, bool]:
    tools = [
        {"name": t["function"]["name"], "description": t["function"].get("description", ""),
         "input_schema": t["function"].get("parameters") or {"type": "object", "properties": {}}}
        for t in body.get("tools") or [] if isinstance(t, dict) and isinstance(t.get("function"), dict)
    ]
    choice: JSON | None = None
    tc = body.get("tool_choice")
    if tc == "auto":
        choice = {"type": "auto"}
    elif tc == "none":
        choice = {"type": "none"}
    elif tc == "required":
        choice = {"type": "any"}
    elif isinstance(tc, dict) and isinstance(tc.get("function"), dict):
        choice = {"type": "tool", "name": tc["function"].get("name")}
    if body.get("parallel_tool_calls") is False and tools and (choice is None or choice["type"] != "none"):
        choice = {**(choice or {"type": "auto"}), "disable_parallel_tool_use": True}
    json_mode = False
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema"):
        schema = (fmt.get("json_schema") or {}).get("schema") if fmt["type"] == "json_schema" else None
        tools.append({"name": JSON_TOOL, "description": "Reply with the requested JSON.",
                      "input_schema": schema or {"type": "object", "additionalProperties": True}})
        choice = {"type": "tool", "name": JSON_TOOL}
        json_mode = True
    return (tools or None), choice, json_mode


def build_request(body: JSON, target: Target) -> JSON:
    messages = body["messages"]
    msgs.reject_n(body, "Anthropic")
    out: JSON = {
        "model": target.model,
        "max_tokens": max_tokens(body) or target.max_output_tokens or DEFAULT_MAX_TOKENS,
        "messages": convert_messages(messages),
    }
    system_parts = msgs.system_parts(messages)
    if any(p.cache for p in system_parts):  # cache markers need system blocks
        out["system"] = [_cached({"type": "text", "text": p.text}, p) for p in system_parts]
    else:
        system = msgs.system_text(messages)
        if system:
            out["system"] = system
    budget = msgs.thinking_budget(body, out["max_tokens"])
    if budget is not None:  # thinking allows neither a temperature nor a top_p below 0.95
        out["thinking"] = {"type": "enabled", "budget_tokens": budget}
    elif isinstance(body.get("temperature"), int | float):
        out["temperature"] = min(float(body["temperature"]), 1.0)
    elif isinstance(body.get("top_p"), int | float):
        out["top_p"] = body["top_p"]
    stop = msgs.stop_list(body)
    if stop:
        out["stop_sequences"] = stop
    tools, choice, _ = _tools(body)
    if tools:
        out["tools"] = tools
    if choice and (tools or choice["type"] == "none"):
        out["tool_choice"] = choice
    if isinstance(body.get("user"), str):
        out["metadata"] = {"user_id": body["user"]}
    if body.get("stream"):
        out["stream"] = True
    return out


def _headers(target: Target) -> dict[str, str]:
    headers = {"content-type": "application/json", "anthropic-version": VERSION, **dict(target.provider.headers)}
    if target.provider.api_key:
        headers["x-api-key"] = target.provider.api_key
    return headers


PASSED_HEADERS = ("anthropic-version", "anthropic-beta")  # the client's, passed on by the Messages API routes


def native_headers(target: Target, client_headers: Mapping[str, str]) -> dict[str, str]:
    headers = _headers(target)
    for name in PASSED_HEADERS:
        value = client_headers.get(name)
        if value:
            headers[name] = value
    return headers


def native_body(raw: bytes, body: JSON, target: Target) -> bytes:
    """The client's bytes as they are, unless the catalog id differs from the upstream id."""
    return raw if body.get("model") == target.model else _encode({**body, "model": target.model})


# --- response ----------------------------------------------------------------------------------------


def map_usage(u: JSON, pricing: Any) -> JSON:
    read = int(u.get("cache_read_input_tokens") or 0)
    write = int(u.get("cache_creation_input_tokens") or 0)
    prompt = int(u.get("input_tokens") or 0) + read + write
    return usage(prompt, int(u.get("output_tokens") or 0), cached_tokens=read, cache_write_tokens=write, pricing=pricing)


def translate_response(data: JSON, target: Target, json_mode: bool, created: int | None = None) -> JSON:
    texts: list[str] = []
    thinking: list[str] = []
    calls: list[JSON] = []
    for block in data.get("content") or []:
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text", ""))
        elif kind == "thinking":
            thinking.append(block.get("thinking", ""))
        elif kind == "tool_use":
            if json_mode and block.get("name") == JSON_TOOL:
                texts.append(_encode(block.get("input") or {}).decode())
            else:
                calls.append(tool_call(block["id"], block["name"], _encode(block.get("input") or {}).decode()))
    finish = FINISH.get(data.get("stop_reason") or "end_turn", "stop")
    if json_mode and finish == "tool_calls" and not calls:
        finish = "stop"
    return completion(
        id=str(data.get("id") or new_id()), model=str(data.get("model") or target.model),
        content="".join(texts) if texts else None, finish_reason=finish,
        usage_obj=map_usage(data.get("usage") or {}, target.pricing), tool_calls=calls or None, created=created,
        reasoning_content="".join(thinking) or None,
    )


class AnthropicStream(ChunkStream):
    def __init__(self, target: Target, body: JSON, created: int | None = None) -> None:
        super().__init__(target.model, body, created)
        self.target = target
        self.parser = SSEParser()
        self.json_mode = _tools(body)[2]
        self.tool_index: dict[int, int] = {}
        self.json_blocks: set[int] = set()
        self.usage_in: JSON = {}
        self.output_tokens = 0
        self.finish: str | None = None
        self.started = False
        self.stopped = False

    def feed(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        for event in self.parser.feed(data):
            out.extend(self._event(event.event, event.data))
        return out

    def _event(self, name: str | None, data: str) -> list[bytes]:
        if not data or self.stopped:
            return []
        try:
            obj = _decode(data)
        except msgspec.DecodeError:
            raise UpstreamProtocolError("Anthropic sent an undecodable stream event") from None
        kind = obj.get("type") or name
        if kind == "message_start":
            msg = obj.get("message") or {}
            self.id = str(msg.get("id") or self.id)
            self.model = str(msg.get("model") or self.model)
            self.usage_in = dict(msg.get("usage") or {})
            self.started = True
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "content_block_start":
            block = obj.get("content_block") or {}
            if block.get("type") == "tool_use":
                if self.json_mode and block.get("name") == JSON_TOOL:
                    self.json_blocks.add(obj["index"])
                    return []
                idx = len(self.tool_index)
                self.tool_index[obj["index"]] = idx
                self._tool_started(idx)
                return [self._chunk({"tool_calls": [{"index": idx, "id": block["id"], "type": "function",
                                                     "function": {"name": block["name"], "arguments": ""}}]})]
            return []
        if kind == "content_block_delta":
            delta = obj.get("delta") or {}
            dtype = delta.get("type")
            if dtype == "text_delta":
                return [self._chunk({"content": delta.get("text", "")})]
            if dtype == "input_json_delta":
                fragment = delta.get("partial_json", "")
                if obj.get("index") in self.json_blocks:
                    return [self._chunk({"content": fragment})] if fragment else []
                tool_idx = self.tool_index.get(obj.get("index", -1))
                if tool_idx is None:
                    return []
                self._tool_args(tool_idx, fragment)
                if not fragment:
                    return []
                return [self._chunk({"tool_calls": [{"index": tool_idx, "function": {"arguments": fragment}}]})]
            if dtype == "thinking_delta":
                return [self._chunk({"reasoning_content": delta.get("thinking", "")})]
            return []
        if kind == "message_delta":
            reason = (obj.get("delta") or {}).get("stop_reason")
            if reason:
                self.finish = FINISH.get(reason, "stop")
            u = obj.get("usage") or {}
            self.output_tokens = int(u.get("output_tokens") or self.output_tokens)
            for key in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"):
                if u.get(key) is not None:
                    self.usage_in[key] = u[key]
            return []
        if kind == "message_stop":
            return self._finish()
        if kind == "error":
            err = obj.get("error") or {}
            etype = str(err.get("type") or "api_error")
            status = {"overloaded_error": 503, "rate_limit_error": 429}.get(etype, 502)
            raise UpstreamStatusError(str(err.get("message") or "Anthropic stream error"), status=status, code=etype)
        return []  # ping, content_block_stop, unknown events

    def _finish(self) -> list[bytes]:
        self.stopped = True
        finish = self.finish or "stop"
        if self.json_mode and finish == "tool_calls" and not self.tool_index:
            finish = "stop"
        return self._ending(finish, map_usage({**self.usage_in, "output_tokens": self.output_tokens}, self.target.pricing))

    def close(self) -> list[bytes]:
        out: list[bytes] = []
        for event in self.parser.close():
            out.extend(self._event(event.event, event.data))
        if self.stopped:
            return out
        if self.started:
            raise UpstreamProtocolError("Anthropic's stream ended before message_stop")
        raise UpstreamProtocolError("Anthropic's stream ended without any event")


# --- adapter -----------------------------------------------------------------------------------------


class AnthropicAdapter:
    name = "anthropic"
    cache_markers = True  # honours ``cache_control`` on chat content parts (Messages API clients send them)

    def chat_request(self, body: JSON, target: Target, raw: bytes | None = None) -> UpstreamRequest:
        payload = build_request(body, target)
        return UpstreamRequest("POST", f"{target.provider.base_url}/v1/messages", _headers(target), _encode(payload),
                               stream=bool(body.get("stream")))

    def chat_response(self, resp: UpstreamResponse, target: Target, body: JSON) -> JSON:
        try:
            data = _decode(resp.body)
        except msgspec.DecodeError:
            raise UpstreamProtocolError("Anthropic's reply was not JSON") from None
        if not isinstance(data, dict):
            raise UpstreamProtocolError("Anthropic's reply was not a JSON object")
        return translate_response(data, target, _tools(body)[2])

    def chat_stream(self, target: Target, body: JSON) -> AnthropicStream:
        return AnthropicStream(target, body)

    def native_request(self, surface: str, raw: bytes, body: JSON, target: Target,
                       client_headers: Mapping[str, str]) -> UpstreamRequest:
        if surface != "messages":
            raise CapabilityNotSupported(f"Anthropic does not serve the {surface} API", param="model")
        return UpstreamRequest("POST", f"{target.provider.base_url}/v1/messages", native_headers(target, client_headers),
                               native_body(raw, body, target), stream=bool(body.get("stream")))

    def count_tokens_request(self, raw: bytes, body: JSON, chat: JSON, target: Target,
                             client_headers: Mapping[str, str]) -> UpstreamRequest:
        return UpstreamRequest("POST", f"{target.provider.base_url}/v1/messages/count_tokens",
                               native_headers(target, client_headers), native_body(raw, body, target))

    def count_tokens_response(self, resp: UpstreamResponse, target: Target) -> int:
        try:
            return int(_decode(resp.body)["input_tokens"])
        except (msgspec.DecodeError, KeyError, TypeError, ValueError):
            raise UpstreamProtocolError("Anthropic's token count was not {\"input_tokens\": N}") from None

    def map_error(self, resp: UpstreamResponse, target: Target) -> Exception:
        etype, message = None, ""
        try:
            data = _decode(resp.body)
            err = data.get("error") if isinstance(data, dict) else None
            if isinstance(err, dict):
                etype, message = err.get("type"), str(err.get("message") or "")
        except msgspec.DecodeError:
            pass
        if not message:
            message = f"Anthropic answered {resp.status}: {resp.body[:200].decode('utf-8', 'replace')}".rstrip(": ")
        status = 503 if resp.status == 529 else resp.status
        return UpstreamStatusError(message, status=status, code=etype or ("overloaded_error" if resp.status == 529 else None),
                                   retry_after=retry_after(resp.headers), provider=target.provider.id)

    def embeddings_request(self, body: JSON, target: Target) -> list[UpstreamRequest]:
        raise CapabilityNotSupported("Anthropic has no embeddings API", param="model")

    def embeddings_response(self, resps: list[UpstreamResponse], target: Target, body: JSON) -> JSON:
        raise CapabilityNotSupported("Anthropic has no embeddings API", param="model")

    def images_request(self, body: JSON, target: Target) -> list[UpstreamRequest]:
        raise CapabilityNotSupported("Anthropic has no image generation API", param="model")

    def images_response(self, resps: list[UpstreamResponse], target: Target, body: JSON) -> JSON:
        raise CapabilityNotSupported("Anthropic has no image generation API", param="model")


ADAPTER = AnthropicAdapter()
CREDENTIALS = API_KEY  # one secret: the provider file's env api_key
