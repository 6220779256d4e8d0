"""Gateway keys: issued ``vk-`` keys with budgets, rate limits, model allowlists and expiry.

Parts::

    tokens.py        make a key (``vk-`` + 32 random bytes in base62), hash it (HMAC-SHA256 with a pepper)
    repo.py          the ``gateway_keys`` table: create, list, show, update, revoke (``vllora.store``)
    limits.py        counters: requests and tokens per minute (sliding windows) and spend per period;
                     in process memory (one instance) or Redis (several), behind one ``Limiter`` interface
    redis_limits.py  the Redis counters: one Lua script per decision, so N instances never over-admit
    gate.py          the ASGI middleware: who is calling (master key, issued key, nobody), and for issued keys
                     the allowlist, budget and rate limits before any upstream call; response headers

Only a hash of each key is stored. The master key (``VLLORA_API_KEY``) may do everything; issued keys may
call models (``/v1/...``) within their limits and read the catalog, nothing else.
"""
