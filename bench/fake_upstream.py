"""An instant OpenAI-compatible upstream for benchmarks (raw asyncio + uvloop: it must never be the bottleneck).

``python bench/fake_upstream.py --port 18080`` answers ``POST /v1/chat/completions`` with a fixed completion,
or a fixed 8-chunk SSE stream when the body contains ``"stream":true``; ``POST /v1/messages`` the same in
Anthropic's shape (a message, or its named events with 8 text deltas); ``POST /v1/responses`` in the Responses
API's shape (a Response object, or 10 named events). ``--delay-ms`` adds latency.
"""

from __future__ import annotations

import argparse
import asyncio

COMPLETION = (b'{"id":"chatcmpl-bench","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,'
              b'"message":{"role":"assistant","content":"Hello there"},"finish_reason":"stop"}],'
              b'"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}')
CHUNK = b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"tok"},"finish_reason":null}]}\n\n'
STREAM = CHUNK * 8 + b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":8,"total_tokens":17}}\n\ndata: [DONE]\n\n'


MESSAGE = (b'{"id":"msg_bench","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":'
           b'[{"type":"text","text":"Hello there"}],"stop_reason":"end_turn","stop_sequence":null,'
           b'"usage":{"input_tokens":9,"output_tokens":3}}')


def _event(name: bytes, data: bytes) -> bytes:
    return b"event: " + name + b"\ndata: " + data + b"\n\n"


MESSAGE_EVENTS = b"".join([
    _event(b"message_start", b'{"type":"message_start","message":{"id":"msg_bench","type":"message","role":"assistant",'
           b'"model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,'
           b'"usage":{"input_tokens":9,"output_tokens":1}}}'),
    _event(b"content_block_start", b'{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}'),
    _event(b"ping", b'{"type":"ping"}'),
    *[_event(b"content_block_delta", b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"tok"}}')] * 8,
    _event(b"content_block_stop", b'{"type":"content_block_stop","index":0}'),
    _event(b"message_delta", b'{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},'
           b'"usage":{"output_tokens":8}}'),
    _event(b"message_stop", b'{"type":"message_stop"}'),
])


def response(body: bytes, content_type: bytes) -> bytes:
    return (b"HTTP/1.1 200 OK\r\ncontent-type: " + content_type + b"\r\ncontent-length: " + str(len(body)).encode()
            + b"\r\nconnection: keep-alive\r\n\r\n" + body)


JSON_RESPONSE = response(COMPLETION, b"application/json")
SSE_RESPONSE = response(STREAM, b"text/event-stream")
MESSAGE_RESPONSE = response(MESSAGE, b"application/json")
MESSAGE_SSE_RESPONSE = response(MESSAGE_EVENTS, b"text/event-stream")

# OpenAI's own Responses API (POST /v1/responses), for the native passthrough rows
_RESP = (b'{"id":"resp_bench","object":"response","created_at":1,"status":"%s","model":"gpt-4o","output":%s,'
         b'"parallel_tool_calls":true,"tool_choice":"auto","tools":[],"usage":%s}')
_ITEM = (b'[{"id":"msg_bench","type":"message","role":"assistant","status":"completed",'
         b'"content":[{"type":"output_text","text":"Hello there","annotations":[]}]}]')
_USAGE = (b'{"input_tokens":9,"input_tokens_details":{"cached_tokens":0},"output_tokens":3,'
          b'"output_tokens_details":{"reasoning_tokens":0},"total_tokens":12}')
RESPONSE_OBJECT = _RESP % (b"completed", _ITEM, _USAGE)
RESPONSE_EVENTS = (
    b'event: response.created\ndata: {"type":"response.created","sequence_number":0,"response":'
    + _RESP % (b"in_progress", b"[]", b"null") + b'}\n\n'
    + b"".join(b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":%d,'
               b'"item_id":"msg_bench","output_index":0,"content_index":0,"delta":"tok","logprobs":[]}\n\n' % (i + 1)
               for i in range(8))
    + b'event: response.completed\ndata: {"type":"response.completed","sequence_number":9,"response":'
    + RESPONSE_OBJECT + b'}\n\n')
RESPONSES_JSON = response(RESPONSE_OBJECT, b"application/json")
RESPONSES_SSE = response(RESPONSE_EVENTS, b"text/event-stream")


class Upstream(asyncio.Protocol):
    delay = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def _write(self, reply: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(reply)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].lower()
            length = 0
            for line in head.split(b"\r\n"):
                if line.startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            total = head_end + 4 + length
            if len(self.buffer) < total:
                return
            body = self.buffer[head_end + 4:total]
            self.buffer = self.buffer[total:]
            stream = b'"stream":true' in body.replace(b" ", b"")
            if head.startswith(b"post /v1/messages"):
                reply = MESSAGE_SSE_RESPONSE if stream else MESSAGE_RESPONSE
            elif head.startswith(b"post /v1/responses"):
                reply = RESPONSES_SSE if stream else RESPONSES_JSON
            else:
                reply = SSE_RESPONSE if stream else JSON_RESPONSE
            if self.delay:
                asyncio.get_running_loop().call_later(self.delay, self._write, reply)
            else:
                self.transport.write(reply)


async def main(port: int, delay_ms: float) -> None:
    Upstream.delay = delay_ms / 1000
    server = await asyncio.get_running_loop().create_server(Upstream, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=18080)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main(args.port, args.delay_ms))
