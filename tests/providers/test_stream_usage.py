"""Every OpenAI stream is recorded and charged: the gateway asks for the usage chunk and hides it from clients
that did not ask (a key could otherwise stream without ever being charged)."""

from __future__ import annotations

import dataclasses

import msgspec

from vllora.providers import get_adapter
from vllora.providers.base import Target
from vllora.settings import ProviderSettings

PROVIDER = ProviderSettings("openai", "openai", "https://api.example/v1", api_key="sk-x", stream_usage=True)
TARGET = Target(PROVIDER, "gpt-4o", {"pricing": {"input": 2.5, "output": 10.0}})
BODY = {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
RAW = msgspec.json.encode(BODY)
FRAMES = (b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"Hi"}}],"usage":null}\n\n'
          b'data: {"id":"c","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12}}\n\n'
          b"data: [DONE]\n\n")


def test_the_usage_chunk_is_requested_and_hidden_when_the_client_did_not_ask():
    adapter = get_adapter("openai")
    sent = msgspec.json.decode(adapter.chat_request(BODY, TARGET, RAW).body)
    assert sent["stream_options"] == {"include_usage": True}
    translator = adapter.chat_stream(TARGET, BODY)
    out = b"".join(translator.feed(FRAMES) + translator.close())
    assert b'"usage":{' not in out and out.endswith(b"data: [DONE]\n\n") and b'"Hi"' in out
    assert translator.usage_seen["completion_tokens"] == 2 and translator.usage_seen["cost"] > 0


def test_a_client_that_asked_gets_it_and_its_bytes_pass_untouched():
    adapter = get_adapter("openai")
    body = {**BODY, "stream_options": {"include_usage": True}}
    raw = msgspec.json.encode(body)
    assert adapter.chat_request(body, TARGET, raw).body == raw
    translator = adapter.chat_stream(TARGET, body)
    out = b"".join(translator.feed(FRAMES) + translator.close())
    assert b'"cost":' in out


def test_providers_without_the_flag_are_left_alone():
    plain = Target(dataclasses.replace(PROVIDER, stream_usage=False), "gpt-4o", None)
    adapter = get_adapter("openai")
    assert adapter.chat_request(BODY, plain, RAW).body == RAW
    translator = adapter.chat_stream(plain, BODY)
    assert b'"usage":{' in b"".join(translator.feed(FRAMES))
