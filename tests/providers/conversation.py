"""One OpenAI conversation that exercises every translation quirk at once (used by every adapter's goldens)."""

from __future__ import annotations

import base64
from typing import Any

PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()
JPG = "data:image/jpg;base64," + base64.b64encode(b"\xff\xd8\xff").decode()

TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                      "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                     "required": ["city"]}}},
    {"type": "function", "function": {"name": "get_time", "description": "Local time"}},
]


def conversation() -> dict[str, Any]:
    return {
        "model": "m",
        "temperature": 1.5,
        "top_p": 0.9,
        "stop": ["END", "  "],
        "user": "u-42",
        "tools": TOOLS,
        "tool_choice": "required",
        "parallel_tool_calls": False,
        "messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "developer", "content": [{"type": "text", "text": "Use metric units."}]},
            {"role": "user", "content": [{"type": "text", "text": "Weather and time in Paris?"},
                                         {"type": "image_url", "image_url": {"url": PNG}},
                                         {"type": "text", "text": ""}]},
            {"role": "assistant", "content": "Checking.", "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
                {"id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": ""}},
            ]},
            {"role": "tool", "tool_call_id": "call_a", "content": "18C sunny"},
            {"role": "tool", "tool_call_id": "call_b", "content": [{"type": "text", "text": "14:05"}]},
            {"role": "user", "content": "And a photo?"},
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": JPG}}]},
        ],
    }
