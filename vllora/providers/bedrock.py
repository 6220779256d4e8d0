"""AWS Bedrock Converse / ConverseStream <-> OpenAI chat (provider-wire.md section 3). Pure functions.

Requests are SigV4-signed (service ``bedrock``) when AWS credentials are configured, or carry a Bedrock API key
as a bearer token. Model ids are percent-encoded in the path (``:`` -> ``%3A``). Quirks handled: messages must
start with a user turn and alternate (same-role runs are merged, tool results grouped into one user turn);
images must be inline bytes; ``toolConfig`` must stay when the history has tool blocks even for
``tool_choice: none``; usage input excludes the cache; the binary event-stream is decoded incrementally and
its exception frames become errors. Embeddings and images use InvokeModel (``bedrock_invoke``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

import msgspec

from vllora.errors import InvalidRequest, UpstreamProtocolError, UpstreamStatusError
from vllora.providers import bedrock_invoke
from vllora.providers import messages as msgs
from vllora.providers.base import JSON, Target, UpstreamRequest, UpstreamResponse
from vllora.providers.credentials import CredentialSpec
from vllora.providers.eventstream import EventStreamDecoder
from vllora.providers.openai import retry_after
from vllora.providers.openai_shapes import (
    ChunkStream,
    completion,
    max_tokens,
    new_id,
    tool_call,
    usage,
)
from vllora.providers.sigv4 import sign

JSON_TOOL = "json_tool_call"
FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "model_context_window_exceeded": "length",
          "tool_use": "tool_calls", "guardrail_intervened": "content_filter", "content_filtered": "content_filter"}
STREAM_ERRORS = {"throttlingException": 429, "modelStreamErrorException": 502, "validationException": 400,
                 "serviceUnavailableException": 503, "internalServerException": 500, "modelTimeoutException": 504}
STATUS_MAP = {408: 504, 424: 502}
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.decode
COUNTABLE = ("messages", "system", "toolConfig", "additionalModelRequestFields")  # CountTokens takes these
CACHE_POINT: JSON = {"cachePoint": {"type": "default"}}


def claude(model: str) -> bool:
    """Anthropic's models on Bedrock (``anthropic.claude-...``, or behind an inference profile ``us.anthropic...``)."""
    return model.startswith("anthropic.") or ".anthropic." in model


def model_url(target: Target, action: str) -> str:
    return f"{target.provider.base_url}/model/{quote(target.model, safe='')}/{action}"


def signed_request(target: Target, url: str, payload: bytes, accept: str = "application/json", stream: bool = False,
                   now: datetime | None = None) -> UpstreamRequest:
    headers = {"content-type": "application/json", "accept": accept, **dict(target.provider.headers)}
    provider = target.provider
    if provider.aws is not None:
        headers = sign("POST", url, headers, payload, provider.aws, provider.aws.region, "bedrock", now=now)
    elif provider.api_key:
        headers["authorization"] = f"Bearer {provider.api_key}"
    return UpstreamRequest("POST", url, headers, payload, stream=stream)


# --- request -----------------------------------------------------------------------------------------


def _image(part: msgs.Part) -> JSON:
    parsed = msgs.data_url(part.url, part.param)
    if parsed is None:
        raise InvalidRequest("Bedrock needs images inline: send a data: URL (data:image/png;base64,...)", param=part.param)
    return {"image": {"format": msgs.IMAGE_TYPES[parsed.media_type], "source": {"bytes": parsed.data}}}


def convert_messages(messages: list[JSON]) -> tuple[list[JSON], bool]:
    out: list[JSON] = []
    has_tools = False
    for i, m in enumerate(messages):
        role = m.get("role")
        if role in ("system", "developer"):
            continue
        if role == "user":
            blocks_in: list[JSON] = []
            for p in msgs.parts(m.get("content"), f"messages[{i}].content"):
                blocks_in.append({"text": p.text} if p.kind == "text" else _image(p))
                if p.cache:
                    blocks_in.append(CACHE_POINT)
            msgs.append_turn(out, "user", blocks_in)
        elif role == "assistant":
            text = msgs.content_text(m.get("content"), f"messages[{i}].content")
            blocks: list[JSON] = [{"text": text}] if text else []
            for cid, name, args in msgs.tool_calls(m, i):
                blocks.append({"toolUse": {"toolUseId": cid, "name": name, "input": args}})
                has_tools = True
            msgs.append_turn(out, "assistant", blocks)
        elif role in ("tool", "function"):
            text = msgs.content_text(m.get("content"), f"messages[{i}].content") or " "
            block = {"toolResult": {"toolUseId": msgs.tool_call_id(m, i), "content": [{"text": text}], "status": "success"}}
            has_tools = True
            msgs.append_tool_result(out, block, lambda b: "toolResult" in b)
    if out and out[0]["role"] != "user":
        out.insert(0, {"role": "user", "content": [{"text": " "}]})  # Converse requires a leading user turn
    return out, has_tools


def _tool_config(body: JSON, history_has_tools: bool) -> tuple[JSON | None, bool]:
    tools = [
        {"toolSpec": {"name": t["function"]["name"], "description": t["function"].get("description") or t["function"]["name"],
                      "inputSchema": {"json": t["function"].get("parameters") or {"type": "object", "properties": {}}}}}
        for t in body.get("tools") or [] if isinstance(t, dict) and isinstance(t.get("function"), dict)
    ]
    choice: JSON | None = None
    tc = body.get("tool_choice")
    if tc == "auto":
        choice = {"auto": {}}
    elif tc == "required":
        choice = {"any": {}}
    elif isinstance(tc, dict) and isinstance(tc.get("function"), dict):
        choice = {"tool": {"name": tc["function"].get("name")}}
    elif tc == "none":
        if not history_has_tools:
            return None, False
        choice = {"auto": {}}
    json_mode = False
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema"):
        schema = (fmt.get("json_schema") or {}).get("schema") if fmt["type"] == "json_schema" else None
        tools.append({"toolSpec": {"name": JSON_TOOL, "description": "Reply with the requested JSON.",
                                   "inputSchema": {"json": schema or {"type": "object"}}}})
        choice = {"tool": {"name": JSON_TOOL}}
        json_mode = True
    if not tools:
        return None, False
    config: JSON = {"tools": tools}
    if choice:
        config["toolChoice"] = choice
    return config, json_mode


def build_request(body: JSON, target: Target) -> JSON:
    msgs.reject_n(body, "Bedrock")
    messages, history_tools = convert_messages(body["messages"])
    out: JSON = {"messages": messages}
    system_parts = msgs.system_parts(body["messages"])
    if any(p.cache for p in system_parts):  # a cache point after each marked block
        out["system"] = [b for p in system_parts for b in ([{"text": p.text}, CACHE_POINT] if p.cache else [{"text": p.text}])]
    else:
        system = msgs.system_text(body["messages"])
        if system:
            out["system"] = [{"text": system}]
    inference: JSON = {}
    limit = max_tokens(body)
    if limit:
        inference["maxTokens"] = limit
    budget = msgs.thinking_budget(body, limit or target.max_output_tokens or 4096) if claude(target.model) else None
    if budget is not None:  # Claude on Bedrock: thinking via additionalModelRequestFields, no temperature/top_p
        out["additionalModelRequestFields"] = {"thinking": {"type": "enabled", "budget_tokens": budget}}
        if not limit:
            inference["maxTokens"] = target.max_output_tokens or 4096
    elif isinstance(body.get("temperature"), int | float):
        inference["temperature"] = min(float(body["temperature"]), 1.0)
    if isinstance(body.get("top_p"), int | float) and budget is None:
        inference["topP"] = body["top_p"]
    stop = msgs.stop_list(body)
    if stop:
        inference["stopSequences"] = stop
    if inference:
        out["inferenceConfig"] = inference
    config, _ = _tool_config(body, history_tools)
    if config:
        out["toolConfig"] = config
    return out


# --- response ----------------------------------------------------------------------------------------


def map_usage(u: JSON, pricing: Any) -> JSON:
    read = int(u.get("cacheReadInputTokens") or 0)
    write = int(u.get("cacheWriteInputTokens") or 0)
    prompt = int(u.get("inputTokens") or 0) + read + write
    out_tokens = int(u.get("outputTokens") or 0)
    return usage(prompt, out_tokens, total_tokens=int(u.get("totalTokens") or prompt + out_tokens), cached_tokens=read,
                 cache_write_tokens=write, pricing=pricing)


def translate_response(data: JSON, headers: Any, target: Target, json_mode: bool, created: int | None = None) -> JSON:
    texts: list[str] = []
    reasoning: list[str] = []
    calls: list[JSON] = []
    for block in ((data.get("output") or {}).get("message") or {}).get("content") or []:
        if isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif "toolUse" in block:
            use = block["toolUse"]
            if json_mode and use.get("name") == JSON_TOOL:
                texts.append(_encode(use.get("input") or {}).decode())
            else:
                calls.append(tool_call(str(use.get("toolUseId")), str(use.get("name")), _encode(use.get("input") or {}).decode()))
        elif "reasoningContent" in block:
            reasoning.append(((block["reasoningContent"] or {}).get("reasoningText") or {}).get("text", ""))
    finish = FINISH.get(data.get("stopReason") or "end_turn", "stop")
    if json_mode and finish == "tool_calls" and not calls:
        finish = "stop"
    request_id = headers.get("x-amzn-requestid") if hasattr(headers, "get") else None
    return completion(id="chatcmpl-" + str(request_id or new_id("")), model=target.model,
                      content="".join(texts) if texts else None, finish_reason=finish,
                      usage_obj=map_usage(data.get("usage") or {}, target.pricing), tool_calls=calls or None,
                      created=created, reasoning_content="".join(reasoning) or None)


class BedrockStream(ChunkStream):
    def __init__(self, target: Target, body: JSON, created: int | None = None) -> None:
        super().__init__(target.model, body, created)
        self.target = target
        self.decoder = EventStreamDecoder()
        self.json_mode = _tool_config(body, True)[1]
        self.tool_index: dict[int, int] = {}
        self.json_blocks: set[int] = set()
        self.finish: str | None = None
        self.usage_raw: JSON | None = None
        self.started = False
        self.done = False

    def feed(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        for message in self.decoder.feed(data):
            out.extend(self._message(message.headers, message.payload))
        return out

    def _message(self, headers: dict[str, Any], payload: bytes) -> list[bytes]:
        kind = headers.get(":message-type", "event")
        if kind == "exception":
            name = str(headers.get(":exception-type", "internalServerException"))
            message = _message_of(payload) or name
            raise UpstreamStatusError(message, status=STREAM_ERRORS.get(name, 502), code=name)
        if kind == "error":
            raise UpstreamStatusError(str(headers.get(":error-message") or "Bedrock stream error"), status=502,
                                      code=str(headers.get(":error-code") or "error"))
        if self.done:
            return []
        event = headers.get(":event-type")
        try:
            obj = _decode(payload) if payload else {}
        except msgspec.DecodeError:
            raise UpstreamProtocolError("Bedrock sent an undecodable stream event") from None
        if event == "messageStart":
            self.started = True
            return [self._chunk({"role": "assistant", "content": ""})]
        if event == "contentBlockStart":
            use = (obj.get("start") or {}).get("toolUse")
            if not use:
                return []
            block = int(obj.get("contentBlockIndex", 0))
            if self.json_mode and use.get("name") == JSON_TOOL:
                self.json_blocks.add(block)
                return []
            idx = self.tool_index[block] = len(self.tool_index)
            self._tool_started(idx)
            return [self._chunk({"tool_calls": [{"index": idx, "id": use.get("toolUseId"), "type": "function",
                                                 "function": {"name": use.get("name"), "arguments": ""}}]})]
        if event == "contentBlockDelta":
            delta = obj.get("delta") or {}
            block = int(obj.get("contentBlockIndex", 0))
            if isinstance(delta.get("text"), str):
                return [self._chunk({"content": delta["text"]})]
            if "toolUse" in delta:
                fragment = str((delta["toolUse"] or {}).get("input") or "")
                if block in self.json_blocks:
                    return [self._chunk({"content": fragment})] if fragment else []
                if block not in self.tool_index:
                    return []
                self._tool_args(self.tool_index[block], fragment)
                if not fragment:
                    return []
                return [self._chunk({"tool_calls": [{"index": self.tool_index[block], "function": {"arguments": fragment}}]})]
            if "reasoningContent" in delta and isinstance(delta["reasoningContent"].get("text"), str):
                return [self._chunk({"reasoning_content": delta["reasoningContent"]["text"]})]
            return []
        if event == "messageStop":
            self.finish = FINISH.get(str(obj.get("stopReason") or "end_turn"), "stop")
            if self.json_mode and self.finish == "tool_calls" and not self.tool_index:
                self.finish = "stop"
            return []
        if event == "metadata":
            self.usage_raw = obj.get("usage") or {}
            return self._end() if self.finish is not None else []
        return []

    def _end(self) -> list[bytes]:
        self.done = True
        return self._ending(self.finish or "stop", map_usage(self.usage_raw or {}, self.target.pricing))

    def close(self) -> list[bytes]:
        if self.done:
            return []
        if self.decoder.pending:
            raise UpstreamProtocolError("Bedrock's stream ended inside an event-stream frame")
        if self.finish is None:
            raise UpstreamProtocolError("Bedrock's stream ended before messageStop" if self.started
                                        else "Bedrock's stream ended without any event")
        return self._end()


def _message_of(payload: bytes) -> str:
    try:
        obj = _decode(payload)
    except msgspec.DecodeError:
        return payload[:200].decode("utf-8", "replace")
    if isinstance(obj, dict):
        return str(obj.get("message") or obj.get("Message") or "")
    return ""


def map_error(resp: UpstreamResponse, target: Target) -> UpstreamStatusError:
    code = str(resp.headers.get("x-amzn-errortype") or "").split(":", 1)[0] or None
    message = _message_of(resp.body) or f"Bedrock answered {resp.status}"
    try:
        obj = _decode(resp.body)
        if isinstance(obj, dict) and not code:
            raw = obj.get("__type") or obj.get("code")
            code = str(raw).split("#")[-1] if raw else None
    except msgspec.DecodeError:
        pass
    status = STATUS_MAP.get(resp.status, resp.status)
    if code in ("ThrottlingException", "ModelNotReadyException"):
        status = 429
    return UpstreamStatusError(message, status=status, code=code, retry_after=retry_after(resp.headers),
                               provider=target.provider.id)


# --- adapter -----------------------------------------------------------------------------------------


class BedrockAdapter:
    name = "bedrock"
    cache_markers = True  # ``cache_control`` on chat content parts becomes a Converse ``cachePoint``

    def chat_request(self, body: JSON, target: Target, raw: bytes | None = None) -> UpstreamRequest:
        stream = bool(body.get("stream"))
        url = model_url(target, "converse-stream" if stream else "converse")
        accept = "application/vnd.amazon.eventstream" if stream else "application/json"
        return signed_request(target, url, _encode(build_request(body, target)), accept, stream)

    def count_tokens_request(self, raw: bytes, body: JSON, chat: JSON, target: Target,
                             client_headers: Mapping[str, str]) -> UpstreamRequest:
        converse = {k: v for k, v in build_request(chat, target).items() if k in COUNTABLE}
        return signed_request(target, model_url(target, "count-tokens"), _encode({"input": {"converse": converse}}))

    def count_tokens_response(self, resp: UpstreamResponse, target: Target) -> int:
        try:
            return int(_decode(resp.body)["inputTokens"])
        except (msgspec.DecodeError, KeyError, TypeError, ValueError):
            raise UpstreamProtocolError("Bedrock's token count was not {\"inputTokens\": N}") from None

    def chat_response(self, resp: UpstreamResponse, target: Target, body: JSON) -> JSON:
        try:
            data = _decode(resp.body)
        except msgspec.DecodeError:
            raise UpstreamProtocolError("Bedrock's reply was not JSON") from None
        if not isinstance(data, dict):
            raise UpstreamProtocolError("Bedrock's reply was not a JSON object")
        return translate_response(data, resp.headers, target, _tool_config(body, True)[1])

    def chat_stream(self, target: Target, body: JSON) -> BedrockStream:
        return BedrockStream(target, body)

    def map_error(self, resp: UpstreamResponse, target: Target) -> Exception:
        return map_error(resp, target)

    def embeddings_request(self, body: JSON, target: Target) -> list[UpstreamRequest]:
        return [signed_request(target, model_url(target, "invoke"), payload)
                for payload in bedrock_invoke.embedding_payloads(body, target.model)]

    def embeddings_response(self, resps: list[UpstreamResponse], target: Target, body: JSON) -> JSON:
        return bedrock_invoke.embedding_response(resps, target, body)

    def images_request(self, body: JSON, target: Target) -> list[UpstreamRequest]:
        return [signed_request(target, model_url(target, "invoke"), bedrock_invoke.image_payload(body, target.model))]

    def images_response(self, resps: list[UpstreamResponse], target: Target, body: JSON) -> JSON:
        return bedrock_invoke.image_response(resps, target)


ADAPTER = BedrockAdapter()
# SigV4 keys (a pair, with an optional session token) or a Bedrock API key sent as a bearer token
CREDENTIALS = CredentialSpec(fields=("access_key_id", "secret_access_key", "session_token", "api_key"),
                             any_of=(("access_key_id", "secret_access_key"), ("api_key",)))
