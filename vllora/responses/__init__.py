"""OpenAI's Responses API (``/v1/responses``) in front of every provider.

One translation layer between the Responses shape and the internal chat-completions shape the adapters
speak: ``request`` (Responses request -> chat body), ``reply`` (chat completion -> Response object, and the
Response skeleton shared with streams), ``events`` (chat chunk frames -> Responses stream events),
``history`` (items kept for ``previous_response_id``), ``store`` (persistence in the gateway's database).
Providers that declare ``native_surfaces: [responses]`` (OpenAI) are forwarded to their own
``/v1/responses`` instead (``passthrough``). All modules but ``store`` are pure.
"""
