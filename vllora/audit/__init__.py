"""``vllora audit``: compare every registry fact with public references (models.dev, LiteLLM, OpenRouter).

Data flow::

    URL or file --(download.read_reference: httpx, lazily)--> JSON
        --(READERS[kind].parse: pure)--> [RefModel]              one reader module per reference format
    registry catalog + [RefModel] + id rules (id_rules.yaml, rules.py)
        --(run.audit: match ids, compare.compare_model)--> Report
    Report --(report.render_text | render_json | render_github; baseline.*)--> stdout, exit status

Nothing here reaches the network except ``download.py``, and only when given a URL.
"""
