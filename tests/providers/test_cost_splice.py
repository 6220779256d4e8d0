"""``usage.cost`` spliced into reply bytes: the same data as decoding, adding the cost and re-encoding, or None."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vllora.cost import usage_cost
from vllora.cost_splice import SPLICE_MIN, splice_cost, usage_object_end
from vllora.messages_api.passthrough import reply_with_cost
from vllora.providers.base import Target
from vllora.settings import ProviderSettings

GOLDEN = Path(__file__).parent / "golden"
PRICING = {"input": 2.5, "output": 10.0, "cached_input": 1.25}


def cost_of(usage: dict[str, Any]) -> float | None:
    return usage_cost(usage, PRICING)


def reference(body: bytes) -> Any:
    """Today's way: decode everything, copy usage with cost, (re-encode)."""
    data = msgspec.json.decode(body)
    if isinstance(data, dict) and isinstance(data.get("usage"), dict):
        usage = dict(data["usage"])
        usage["cost"] = cost_of(usage)
        data["usage"] = usage
    return data


def check(body: bytes) -> bool:
    """The splice equals the reference (as data, usage keys in the same order); True when it spliced."""
    spliced = splice_cost(body, cost_of)
    if spliced is None:
        return False
    out = json.loads(spliced.body)
    want = reference(body)
    assert out == want
    assert list(out["usage"]) == list(want["usage"])
    assert spliced.usage == want["usage"]
    choices = want.get("choices")
    reasons = [str(c["finish_reason"]) for c in choices if c.get("finish_reason")] or None if choices else None
    assert spliced.finish_reasons == reasons
    return True


def golden_replies() -> list[Any]:
    """Every object with a top-level ``usage`` in the recorded provider fixtures (replies of every provider)."""
    found: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("usage"), dict):
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in sorted(GOLDEN.rglob("*.json")):
        walk(json.loads(path.read_text()))
    return found


CHAT = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12,
                  "prompt_tokens_details": {"cached_tokens": 4}, "completion_tokens_details": {"reasoning_tokens": 0}},
        "service_tier": "default", "system_fingerprint": "fp_1"}


def encodings(obj: Any) -> list[bytes]:
    return [msgspec.json.encode(obj), json.dumps(obj).encode(), json.dumps(obj, indent=2).encode(),
            json.dumps(obj, ensure_ascii=False, separators=(" , ", " : ")).encode(),
            json.dumps(obj, indent="\t", sort_keys=True).encode()]


@pytest.mark.parametrize("obj", [CHAT, *golden_replies()], ids=lambda o: str(o.get("object") or o.get("type") or "reply"))
def test_recorded_replies_splice_to_the_same_data(obj: Any) -> None:
    assert len(golden_replies()) >= 5
    for body in encodings(obj):
        if "cost" in obj["usage"] or not obj["usage"]:
            assert splice_cost(body, cost_of) is None
        else:
            assert check(body), body[:200]


def test_the_bytes_are_the_providers_plus_the_cost() -> None:
    body = json.dumps(CHAT, indent=1).encode()
    spliced = splice_cost(body, cost_of)
    assert spliced is not None
    cost = cost_of(CHAT["usage"])
    close = body.index(b"}", body.index(b'"reasoning_tokens"')) + 1  # completion_tokens_details closes
    close = body.index(b"}", close)  # usage closes
    assert spliced.body == body[:close] + b',"cost":' + msgspec.json.encode(cost) + body[close:]


@pytest.mark.parametrize("body", [
    b'{"id":"x","choices":[]}',  # no usage
    b'{"id":"x","usage":null}',
    b'{"id":"x","usage":[1,2]}',
    b'{"id":"x","usage":{}}',
    b'{"id":"x","usage":{"prompt_tokens":1,"cost":0.5}}',  # the provider's own cost: replaced, as today
    b'{"id":"x","usage":{"prompt_tokens":1}',  # truncated
    b'{"id":"x","usage":{"prompt_tokens":1}}}',  # trailing garbage
    b'{"id":"x\xff","usage":{"prompt_tokens":1}}',  # not UTF-8
    b'[{"usage":{"prompt_tokens":1}}]',  # not an object
    b'{"x":{"usage":{"prompt_tokens":1}}}',  # only a nested usage
    b'{"usage":{"prompt_tokens":1},"x":{"usage":{"prompt_tokens":2}}}',  # nested after the top-level one
    b'{"choices":[{"finish_reason":7}],"usage":{"prompt_tokens":1}}',  # an unusual choices: full decode decides
    b'{"a":"\\"usage\\":{\\"prompt_tokens\\":1}"}',  # only inside a string
    b'{"usage":{"prompt_tokens":1},"a":"\\"usage\\":{\\"prompt_tokens\\":2}}"}',
])
def test_unusual_replies_fall_back_or_splice_correctly(body: bytes) -> None:
    try:
        msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError):
        assert splice_cost(body, cost_of) is None  # invalid JSON is never passed on
        return
    spliced = splice_cost(body, cost_of)
    if spliced is not None:
        assert json.loads(spliced.body) == reference(body)


def test_a_usage_key_inside_a_string_after_the_real_one_is_skipped() -> None:
    body = b'{"usage":{"prompt_tokens":1},"a":"tail \\"usage\\": {\\"x\\": 1} \\"usage\\":{}"}'
    assert check(body)
    body = b'{"usage":{"prompt_tokens":1},"k\\"usage":{"prompt_tokens":5}}'  # a key that ends in "usage
    assert splice_cost(body, cost_of) is None  # never mistaken for the top-level usage: the full decode answers


def test_the_usage_object_scan_skips_braces_in_strings() -> None:
    body = b'{"usage":{"a":"}{\\"}","b":{"c":1}}}'
    assert usage_object_end(body, 9) == len(body) - 2


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False),
                      st.text(alphabet=st.sampled_from('ab{}[]":,\\ \n\u00e9\u2028usage'), max_size=12))
json_value = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(st.sampled_from(["usage", "cost", "choices", "x", 'q"usage', "}"]), inner,
                                            max_size=3), max_leaves=12)
usage_obj = st.dictionaries(st.sampled_from(["prompt_tokens", "completion_tokens", "total_tokens"]),
                            st.integers(0, 10**6), min_size=1, max_size=3).flatmap(
    lambda counts: st.fixed_dictionaries({k: st.just(v) for k, v in counts.items()}, optional={
        "prompt_tokens_details": st.dictionaries(st.sampled_from(["cached_tokens", "y"]), st.integers(0, 99), max_size=2),
        "usage": json_value, "x": json_value}))


@settings(max_examples=400, deadline=None)
@given(before=st.dictionaries(st.sampled_from(["id", "a", "choices", "x"]), json_value, max_size=3),
       after=st.dictionaries(st.sampled_from(["z", "b", "system_fingerprint"]), json_value, max_size=3),
       usage=usage_obj, style=st.integers(0, 4))
def test_random_replies_splice_to_the_same_data(before: dict[str, Any], after: dict[str, Any], usage: dict[str, Any],
                                                style: int) -> None:
    obj = {**before, "usage": usage, **after}
    body = encodings(obj)[style]
    spliced = splice_cost(body, cost_of)
    if spliced is not None:
        assert json.loads(spliced.body) == reference(body)
    elif "choices" not in obj and body.count(b'"usage"') == 1:  # otherwise the full decode may have to decide
        raise AssertionError(f"a plain top-level usage was not spliced: {body!r}")


def test_messages_passthrough_splices_large_replies_and_decodes_small_ones() -> None:
    target = Target(ProviderSettings("anthropic", "anthropic", "http://127.0.0.1:9"), "claude", {"pricing": PRICING})
    reply = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude",
             "content": [{"type": "text", "text": "x" * SPLICE_MIN}], "stop_reason": "end_turn",
             "usage": {"input_tokens": 9, "output_tokens": 3, "cache_read_input_tokens": 2}}
    big = json.dumps(reply, indent=1).encode()
    out = reply_with_cost(big, target)
    assert out.startswith(big[:100]) and b"\n" in out  # the provider's bytes, not a re-encoding
    small = {**reply, "content": [{"type": "text", "text": "hi"}]}
    for body, obj in ((big, reply), (json.dumps(small, indent=1).encode(), small)):
        out = reply_with_cost(body, target)
        want = json.loads(json.dumps(obj))
        want["usage"]["cost"] = usage_cost({"prompt_tokens": 11, "completion_tokens": 3,
                                            "prompt_tokens_details": {"cached_tokens": 2}}, PRICING)
        assert json.loads(out) == want
