"""Anthropic's Messages API (``POST /v1/messages``) in front of every provider.

Pure translation between the Messages shape and the internal chat shape the adapters speak:
``request.to_chat`` (Messages request -> chat body), ``reply.from_chat`` (chat completion -> Messages reply),
``events.MessagesEvents`` (OpenAI chunk frames -> Anthropic's named SSE events) and ``errors`` (the
``{"type": "error", "error": {...}}`` shape with Anthropic's statuses). Providers that declare
``native_surfaces: [messages]`` get the request forwarded as is (``passthrough``).
"""
