"""Gemini API (generativelanguage v1beta) <-> OpenAI (provider-wire.md section 2). Pure functions.

``base_url`` is the host; this adapter adds ``/v1beta``. The key goes in ``x-goog-api-key`` (never the URL).
Quirks handled: ``systemInstruction``; roles user/model; tool results need the function *name* (looked up
from the earlier assistant tool call) and are grouped into one user turn; ``STOP`` with function calls
becomes ``tool_calls``; usage counts thoughts as completion tokens; streams have no terminal sentinel.
Gemini's ``thoughtSignature`` must be echoed back with the function call on the next turn: it travels inside
the OpenAI tool-call id as ``<call id>.sig.<base64url signature>`` and is restored from there.
"""

from __future__ import annotations

import base64
import contextlib
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import msgspec

from vllora.cost import image_cost
from vllora.errors import InvalidRequest, UpstreamProtocolError, UpstreamStatusError
from vllora.providers import messages as msgs
from vllora.providers.base import JSON, Target, UpstreamRequest, UpstreamResponse
from vllora.providers.credentials import API_KEY
from vllora.providers.embeddings import encode_vectors, text_inputs
from vllora.providers.openai import retry_after
from vllora.providers.openai_shapes import (
    ChunkStream,
    max_tokens,
    new_id,
    now_s,
    tool_call,
    usage,
)
from vllora.providers.sse import SSEParser

SIG = ".sig."
FINISH = {"STOP": "stop", "MAX_TOKENS": "length", "RECITATION": "content_filter", "OTHER": "content_filter"}
FILTERED = {"SAFETY", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "LANGUAGE", "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT",
            "IMAGE_RECITATION", "IMAGE_OTHER", "NO_IMAGE"}
EFFORT_BUDGET = msgs.EFFORT_BUDGET  # reasoning_effort -> thinking tokens, shared with the Claude adapters
ASPECT = {"1024x1024": "1:1", "1792x1024": "16:9", "1024x1792": "9:16", "1536x1024": "3:2", "1024x1536": "2:3"}
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.decode


def finish_reason(native: str | None, has_calls: bool) -> str:
    if native in FILTERED:
        return "content_filter"
    reason = FINISH.get(native or "STOP", "stop")
    return "tool_calls" if has_calls and reason == "stop" else reason


def pack_id(call_id: str, signature: str | None) -> str:
    if not signature:
        return call_id
    return call_id + SIG + base64.urlsafe_b64encode(signature.encode()).decode().rstrip("=")


def unpack_id(call_id: str) -> tuple[str, str | None]:
    head, sep, tail = call_id.partition(SIG)
    if not sep:
        return call_id, None
    try:
        return head, base64.urlsafe_b64decode(tail + "=" * (-len(tail) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return call_id, None


# --- request -----------------------------------------------------------------------------------------


def _part(p: msgs.Part) -> JSON:
    if p.kind == "text":
        return {"text": p.text}
    parsed = msgs.data_url(p.url, p.param)
    if parsed is not None:
        return {"inlineData": {"mimeType": parsed.media_type, "data": parsed.data}}
    ext = p.url.rsplit(".", 1)[-1].lower().split("?")[0]
    mime = {"png": "image/png", "gif": "image/gif", "webp": "image/webp"}.get(ext, "image/jpeg")
    return {"fileData": {"mimeType": mime, "fileUri": p.url}}


def convert_contents(messages: list[JSON]) -> list[JSON]:
    names: dict[str, str] = {}
    out: list[JSON] = []
    for i, m in enumerate(messages):
        role = m.get("role")
        if role in ("system", "developer"):
            continue
        if role == "user":
            msgs.append_turn(out, "user", [_part(p) for p in msgs.parts(m.get("content"), f"messages[{i}].content")], "parts")
        elif role == "assistant":
            text = msgs.content_text(m.get("content"), f"messages[{i}].content")
            parts: list[JSON] = [{"text": text}] if text else []
            for cid, name, args in msgs.tool_calls(m, i):
                names[cid] = name
                _, signature = unpack_id(cid)
                part: JSON = {"functionCall": {"name": name, "args": args}}
                if signature:
                    part["thoughtSignature"] = signature
                parts.append(part)
            msgs.append_turn(out, "model", parts, "parts")
        elif role in ("tool", "function"):
            call_ref = m.get("tool_call_id")
            fn_name = names.get(call_ref) if isinstance(call_ref, str) else m.get("name")
            if not isinstance(fn_name, str):
                raise InvalidRequest(f"messages[{i}].tool_call_id does not match any earlier assistant tool call",
                                     param=f"messages[{i}].tool_call_id")
            text = msgs.content_text(m.get("content"), f"messages[{i}].content")
            msgs.append_tool_result(out, {"functionResponse": {"name": fn_name, "response": {"result": text}}},
                                    lambda b: "functionResponse" in b, "parts")
    return out


def generation_config(body: JSON) -> JSON:
    cfg: JSON = {}
    limit = max_tokens(body)
    if limit:
        cfg["maxOutputTokens"] = limit
    for src, dst in (("temperature", "temperature"), ("top_p", "topP"), ("seed", "seed"),
                     ("presence_penalty", "presencePenalty"), ("frequency_penalty", "frequencyPenalty")):
        if isinstance(body.get(src), int | float) and not isinstance(body.get(src), bool):
            cfg[dst] = body[src]
    if isinstance(body.get("n"), int) and body["n"] > 1:
        cfg["candidateCount"] = body["n"]
    stop = msgs.stop_list(body)
    if stop:
        cfg["stopSequences"] = stop
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema"):
        cfg["responseMimeType"] = "application/json"
        schema = (fmt.get("json_schema") or {}).get("schema") if fmt["type"] == "json_schema" else None
        if schema:
            cfg["responseJsonSchema"] = schema
    effort = body.get("reasoning_effort")
    if effort in EFFORT_BUDGET:
        cfg["thinkingConfig"] = {"thinkingBudget": EFFORT_BUDGET[effort]}
    return cfg


def build_request(body: JSON, target: Target) -> JSON:
    messages = body["messages"]
    out: JSON = {"contents": convert_contents(messages)}
    system = msgs.system_text(messages)
    if system:
        out["systemInstruction"] = {"parts": [{"text": system}]}
    cfg = generation_config(body)
    if cfg:
        out["generationConfig"] = cfg
    decls = [
        {"name": t["function"]["name"], "description": t["function"].get("description", ""),
         **({"parametersJsonSchema": t["function"]["parameters"]} if t["function"].get("parameters") else {})}
        for t in body.get("tools") or [] if isinstance(t, dict) and isinstance(t.get("function"), dict)
    ]
    if decls:
        out["tools"] = [{"functionDeclarations": decls}]
    tc = body.get("tool_choice")
    mode = {"auto": "AUTO", "none": "NONE", "required": "ANY"}.get(tc) if isinstance(tc, str) else None
    if isinstance(tc, dict) and isinstance(tc.get("function"), dict):
        out["toolConfig"] = {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [tc["function"].get("name")]}}
    elif mode:
        out["toolConfig"] = {"functionCallingConfig": {"mode": mode}}
    return out


def _headers(target: Target) -> dict[str, str]:
    headers = {"content-type": "application/json", **dict(target.provider.headers)}
    if target.provider.api_key:
        headers["x-goog-api-key"] = target.provider.api_key
    return headers


def _url(target: Target, method: str) -> str:
    return f"{target.provider.base_url}/v1beta/models/{quote(target.model, safe='')}:{method}"


# --- response ----------------------------------------------------------------------------------------


def map_usage(meta: JSON, pricing: Any) -> JSON:
    prompt = int(meta.get("promptTokenCount") or 0)
    thoughts = int(meta.get("thoughtsTokenCount") or 0)
    completion_tokens = int(meta.get("candidatesTokenCount") or 0) + thoughts
    total = int(meta.get("totalTokenCount") or prompt + completion_tokens)
    return usage(prompt, completion_tokens, total_tokens=total, cached_tokens=int(meta.get("cachedContentTokenCount") or 0),
                 reasoning_tokens=thoughts or None, pricing=pricing)


def _read_parts(parts: list[JSON]) -> tuple[list[str], list[str], list[JSON]]:
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[JSON] = []
    for part in parts:
        if "functionCall" in part:
            fc = part["functionCall"] or {}
            cid = pack_id(str(fc.get("id") or new_id("call_")), part.get("thoughtSignature"))
            calls.append(tool_call(cid, str(fc.get("name")), _encode(fc.get("args") or {}).decode()))
        elif isinstance(part.get("text"), str):
            (thoughts if part.get("thought") else texts).append(part["text"])
    return texts, thoughts, calls


def translate_response(data: JSON, target: Target, created: int | None = None) -> JSON:
    choices: list[JSON] = []
    for pos, cand in enumerate(data.get("candidates") or []):
        texts, thoughts, calls = _read_parts((cand.get("content") or {}).get("parts") or [])
        message: JSON = {"role": "assistant", "content": "".join(texts) if texts else None, "refusal": None}
        if calls:
            message["tool_calls"] = calls
        if thoughts:
            message["reasoning_content"] = "".join(thoughts)
        choices.append({"index": cand.get("index", pos), "message": message, "logprobs": None,
                        "finish_reason": finish_reason(cand.get("finishReason"), bool(calls))})
    if not choices:  # the prompt itself was blocked
        choices.append({"index": 0, "message": {"role": "assistant", "content": "", "refusal": None}, "logprobs": None,
                        "finish_reason": "content_filter"})
    return {
        "id": "chatcmpl-" + str(data.get("responseId") or new_id("")), "object": "chat.completion",
        "created": created if created is not None else now_s(), "model": str(data.get("modelVersion") or target.model),
        "choices": choices, "usage": map_usage(data.get("usageMetadata") or {}, target.pricing),
    }


class GeminiStream(ChunkStream):
    def __init__(self, target: Target, body: JSON, created: int | None = None) -> None:
        super().__init__(target.model, body, created)
        self.target = target
        self.parser = SSEParser()
        self.started = False
        self.calls = 0
        self.native_finish: str | None = None
        self.usage_meta: JSON = {}

    def feed(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        for event in self.parser.feed(data):
            out.extend(self._event(event.data))
        return out

    def _event(self, data: str) -> list[bytes]:
        if not data.strip():
            return []
        try:
            obj = _decode(data)
        except msgspec.DecodeError:
            raise UpstreamProtocolError("Gemini sent an undecodable stream chunk") from None
        if isinstance(obj, dict) and isinstance(obj.get("error"), dict):
            raise map_error_body(obj, int(obj["error"].get("code") or 502), {})
        out: list[bytes] = []
        if not self.started:
            self.started = True
            if obj.get("responseId"):
                self.id = "chatcmpl-" + str(obj["responseId"])
            self.model = str(obj.get("modelVersion") or self.model)
            out.append(self._chunk({"role": "assistant", "content": ""}))
        if isinstance(obj.get("usageMetadata"), dict):
            self.usage_meta = obj["usageMetadata"]
        for cand in obj.get("candidates") or []:
            texts, thoughts, calls = _read_parts((cand.get("content") or {}).get("parts") or [])
            for text in thoughts:
                out.append(self._chunk({"reasoning_content": text}))
            for text in texts:
                out.append(self._chunk({"content": text}))
            for call in calls:
                out.append(self._chunk({"tool_calls": [{"index": self.calls, **call}]}))
                self.calls += 1
            if cand.get("finishReason"):
                self.native_finish = cand["finishReason"]
        if not obj.get("candidates") and (obj.get("promptFeedback") or {}).get("blockReason"):
            self.native_finish = "SAFETY"
        return out

    def close(self) -> list[bytes]:
        out: list[bytes] = []
        for event in self.parser.close():
            out.extend(self._event(event.data))
        if self.native_finish is None:
            raise UpstreamProtocolError("Gemini's stream ended before a finish reason" if self.started
                                        else "Gemini's stream ended without any chunk")
        return out + self._ending(finish_reason(self.native_finish, self.calls > 0),
                                  map_usage(self.usage_meta, self.target.pricing))


def map_error_body(data: Any, status: int, headers: Any) -> UpstreamStatusError:
    err = data.get("error") if isinstance(data, dict) else None
    err = err if isinstance(err, dict) else {}
    message = str(err.get("message") or f"Gemini answered {status}")
    code = err.get("status") if isinstance(err.get("status"), str) else None
    wait = retry_after(headers)
    for detail in err.get("details") or []:
        if not isinstance(detail, dict):
            continue
        if detail.get("reason") == "API_KEY_INVALID":
            status, code = 401, "API_KEY_INVALID"
        delay = detail.get("retryDelay")
        if isinstance(delay, str) and delay.endswith("s") and wait is None:
            with contextlib.suppress(ValueError):
                wait = float(delay[:-1])
    return UpstreamStatusError(message, status=status, code=code, retry_after=wait, provider="gemini")


# --- adapter -----------------------------------------------------------------------------------------


class GeminiAdapter:
    name = "gemini"

    def chat_request(self, body: JSON, target: Target, raw: bytes | None = None) -> UpstreamRequest:
        stream = bool(body.get("stream"))
        url = _url(target, "streamGenerateContent?alt=sse" if stream else "generateContent")
        return UpstreamRequest("POST", url, _headers(target), _encode(build_request(body, target)), stream=stream)

    def chat_response(self, resp: UpstreamResponse, target: Target, body: JSON) -> JSON:
        return translate_response(_json(resp), target)

    def chat_stream(self, target: Target, body: JSON) -> GeminiStream:
        return GeminiStream(target, body)

    def count_tokens_request(self, raw: bytes, body: JSON, chat: JSON, target: Target,
                             client_headers: Mapping[str, str]) -> UpstreamRequest:
        request = {"model": f"models/{target.model}", **build_request(chat, target)}
        return UpstreamRequest("POST", _url(target, "countTokens"), _headers(target),
                               _encode({"generateContentRequest": request}))

    def count_tokens_response(self, resp: UpstreamResponse, target: Target) -> int:
        try:
            return int(_decode(resp.body)["totalTokens"])
        except (msgspec.DecodeError, KeyError, TypeError, ValueError):
            raise UpstreamProtocolError("Gemini's token count was not {\"totalTokens\": N}") from None

    def map_error(self, resp: UpstreamResponse, target: Target) -> Exception:
        try:
            data = _decode(resp.body)
        except msgspec.DecodeError:
            return UpstreamStatusError(f"Gemini answered {resp.status}: {resp.body[:200].decode('utf-8', 'replace')}",
                                       status=resp.status, retry_after=retry_after(resp.headers), provider=target.provider.id)
        return map_error_body(data, resp.status, resp.headers)

    def embeddings_request(self, body: JSON, target: Target) -> list[UpstreamRequest]:
        texts, single = text_inputs(body)
        extra: JSON = {}
        if isinstance(body.get("dimensions"), int):
            extra["outputDimensionality"] = body["dimensions"]
        task = body.get("task_type") or body.get("taskType")
        if isinstance(task, str):
            extra["taskType"] = task
        if single:
            payload: JSON = {"content": {"parts": [{"text": texts[0]}]}, **extra}
            return [UpstreamRequest("POST", _url(target, "embedContent"), _headers(target), _encode(payload))]
        requests = [{"model": f"models/{target.model}", "content": {"parts": [{"text": t}]}, **extra} for t in texts]
        return [UpstreamRequest("POST", _url(target, "batchEmbedContents"), _headers(target), _encode({"requests": requests}))]

    def embeddings_response(self, resps: list[UpstreamResponse], target: Target, body: JSON) -> JSON:
        data = _json(resps[0])
        if "embedding" in data:
            vectors = [data["embedding"].get("values") or []]
        else:
            vectors = [e.get("values") or [] for e in data.get("embeddings") or []]
        texts, _ = text_inputs(body)
        prompt = sum(math.ceil(len(t) / 4) for t in texts)  # Gemini returns no token counts: estimated
        return {"object": "list", "model": target.model, "data": encode_vectors(vectors, body),
                "usage": {"prompt_tokens": prompt, "total_tokens": prompt,
                          "cost": usage(prompt, 0, pricing=target.pricing)["cost"]}}

    def images_request(self, body: JSON, target: Target) -> list[UpstreamRequest]:
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            raise InvalidRequest("'prompt' is required", param="prompt")
        n = body.get("n") if isinstance(body.get("n"), int) else 1
        if "imagen" in target.model:
            payload: JSON = {"instances": [{"prompt": prompt}],
                             "parameters": {"sampleCount": n, "aspectRatio": ASPECT.get(str(body.get("size")), "1:1")}}
            return [UpstreamRequest("POST", _url(target, "predict"), _headers(target), _encode(payload))]
        payload = {"contents": [{"role": "user", "parts": [{"text": prompt}]}],
                   "generationConfig": {"responseModalities": ["IMAGE"], "candidateCount": n}}
        return [UpstreamRequest("POST", _url(target, "generateContent"), _headers(target), _encode(payload))]

    def images_response(self, resps: list[UpstreamResponse], target: Target, body: JSON) -> JSON:
        data = _json(resps[0])
        images = [p["bytesBase64Encoded"] for p in data.get("predictions") or [] if p.get("bytesBase64Encoded")]
        for cand in data.get("candidates") or []:
            for part in (cand.get("content") or {}).get("parts") or []:
                inline = part.get("inlineData") or {}
                if inline.get("data"):
                    images.append(inline["data"])
        return {"created": now_s(), "data": [{"b64_json": b} for b in images],
                "usage": {"cost": image_cost(len(images), target.pricing)}}


def _json(resp: UpstreamResponse) -> JSON:
    try:
        data = _decode(resp.body)
    except msgspec.DecodeError:
        raise UpstreamProtocolError("Gemini's reply was not JSON") from None
    if not isinstance(data, dict):
        raise UpstreamProtocolError("Gemini's reply was not a JSON object")
    return data


ADAPTER = GeminiAdapter()
CREDENTIALS = API_KEY  # one secret: the provider file's env api_key
