"""Draft registry YAML for OpenAI-compatible providers from two public references, each fact cross-checked.

A maintainer's tool, not part of vllora: nothing imports it and no test runs it. Inputs are local files:

- MODELSDEV_DIR: a checkout of models.dev (MIT; `providers/<p>/models/**.toml`, `models/**.toml` for base_model
  inheritance, and `models.json`, its snapshot of OpenRouter's /api/v1/models)
- LITELLM_JSON: LiteLLM's model_prices_and_context_window.json (USD per token; ours are per 1M tokens)
- REGISTRY_DIR: registry/ (never overwritten: ids or aliases already present are skipped)

    python tools/import_modelsdev.py MODELSDEV_DIR LITELLM_JSON registry            # counts only
    python tools/import_modelsdev.py MODELSDEV_DIR LITELLM_JSON registry --write    # write new files
    python tools/import_modelsdev.py ... --only=cerebras,groq

Each file's notes say which facts both references agree on, where they disagree (both values; the first
reference is kept), and which have a single source. OpenRouter's own listing is the first reference for
OpenRouter. Left out: models marked deprecated, speech/rerank/video models, models without a price or (chat)
a context window, max output equal to the context (a placeholder), and the ids in SKIP. Review the output
(`git diff`), run `vllora validate` and `vllora docs`, and check lifecycle news the snapshot predates.
"""

from __future__ import annotations

import datetime
import json
import re
import sys
import tomllib
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import yaml

MD_URL = "https://github.com/anomalyco/models.dev/blob/dev/providers/{p}/models/{m}.toml"
LITELLM_URL = "https://github.com/BerriAI/litellm/blob/main/model_prices_and_context_window.json"
OPENROUTER_URL = "https://openrouter.ai/api/v1/models"
SNAPSHOT = "2026-07-02"
TODAY = datetime.date.today().isoformat()  # a shutdown date on or before today means status retired

# our provider id -> (models.dev provider dir or None, LiteLLM provider names)
PROVIDERS: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "cerebras": ("cerebras", ("cerebras",)),
    "deepinfra": ("deepinfra", ("deepinfra",)),
    "nebius": ("nebius", ("nebius",)),
    "perplexity": ("perplexity", ("perplexity",)),
    "moonshot": ("moonshotai", ("moonshot",)),
    "zai": ("zai", ("zai",)),
    "alibaba": ("alibaba", ("dashscope",)),
    "minimax": ("minimax", ("minimax",)),
    "novita": ("novita-ai", ("novita",)),
    "nvidia": ("nvidia", ("nvidia_nim",)),
    "huggingface": ("huggingface", ()),
    "cloudflare": ("cloudflare-workers-ai", ("cloudflare",)),
    "github": ("github-models", ()),
    "cohere": ("cohere", ("cohere_chat", "cohere")),
    "baseten": ("baseten", ("baseten",)),
    "scaleway": ("scaleway", ("scaleway",)),
    "ovhcloud": ("ovhcloud", ("ovhcloud",)),
    "upstage": ("upstage", ()),
    "lmstudio": ("lmstudio", ()),
    "siliconflow": ("siliconflow", ()),
    "chutes": ("chutes", ()),
    "venice": ("venice", ()),
    "friendli": ("friendli", ("friendliai",)),
    "wandb": ("wandb", ("wandb",)),
    "ionet": ("io-net", ()),
    "vultr": ("vultr", ()),
    "inference": ("inference", ()),
    "llama": ("llama", ("meta_llama",)),
    "stepfun": ("stepfun", ()),
    "xiaomi": ("xiaomi", ("xiaomi_mimo",)),
    "inception": ("inception", ("inception",)),
    "morph": ("morph", ("morph",)),
    "regolo": ("regolo-ai", ()),
    "berget": ("berget", ()),
    "digitalocean": ("digitalocean", ("gradient_ai",)),
    "vercel": ("vercel", ("vercel_ai_gateway",)),
    "ollama-cloud": ("ollama-cloud", ()),
    "gmicloud": ("gmicloud", ("gmi",)),
    "sambanova": (None, ("sambanova",)),
    "hyperbolic": (None, ("hyperbolic",)),
    "lambda": (None, ("lambda_ai",)),
    "voyage": (None, ("voyage",)),
    "jina": (None, ("jina_ai",)),
    # existing providers: only models we lack
    "together": ("togetherai", ("together_ai",)),
    "fireworks": ("fireworks-ai", ("fireworks_ai",)),
    "groq": ("groq", ("groq",)),
    "mistral": ("mistral", ("mistral",)),
    "xai": ("xai", ("xai",)),
    "openrouter": ("openrouter", ()),
    "bedrock": ("amazon-bedrock", ("bedrock_converse", "bedrock")),
    "gemini": ("google", ("gemini",)),
}
LOCAL = {"lmstudio"}
SKIP = {  # checked by hand: ids the openai / bedrock adapters cannot serve as listed
    "bedrock": {"openai.gpt-oss-120b", "openai.gpt-oss-20b", "xai.grok-4.3"},  # Bedrock Mantle only, not Converse
    "nvidia": {"black-forest-labs/flux.1-dev", "black-forest-labs/flux_1-kontext-dev", "black-forest-labs/flux_1-schnell",
               "black-forest-labs/flux_2-klein-4b", "qwen/qwen-image", "qwen/qwen-image-edit"},  # not /images/generations
    "digitalocean": {"stable-diffusion-3.5-large"},  # per-image price given as a token price
    "regolo": {"qwen-image"},
    "mistral": {"mistral-nemo"},  # the retired open-mistral-nemo, kept as its alias
    "lmstudio": {"openai/gpt-oss-20b"},
    # moving "-latest" pointers whose prices the references disagree on, and image previews already shut down
    "gemini": {"gemini-flash-latest", "gemini-flash-lite-latest", "gemini-3.1-flash-image-preview",
               "gemini-3-pro-image-preview"},  # an id hosted providers serve: a keyless local server would win bare ids
}
SKIP_ID = re.compile(r"whisper|tts|orpheus|transcri|speech|esm2|esmfold|rerank|prompt-guard|-guard-|guard-|"
                     r"nemoretriever|parakeet|canary|diffdock|molmim|genmol|cosmos|voice|audio-preview|realtime|"
                     r"moderation|video|lipsync|sound|music", re.I)
EMBED_ID = re.compile(r"embed|(^|/)bge-|bge-m3|(^|/)e5-|multilingual-e5|gte-|/gte|nomic-embed|jina-embeddings|"
                      r"(^|/)voyage-|arctic-embed|nv-embed|retriever", re.I)
DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")
SNAP = re.compile(r"^(.*)-(\d{4}-\d{2}-\d{2}|20\d{6})$")
GEO = re.compile(r"^(us|eu|apac|au|jp|ca|global|us-gov)\.(.+)$")


def good_date(v: Any) -> bool:
    import datetime
    if not isinstance(v, str) or not DATE.match(v):
        return False
    try:
        datetime.date.fromisoformat(v if len(v) == 10 else v + "-01")
    except ValueError:
        return False
    return True


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_modelsdev(root: Path) -> dict[str, dict[str, Any]]:
    """models.dev's top-level model files, by id: what a provider file's ``base_model`` inherits from."""
    bases: dict[str, dict[str, Any]] = {}
    for f in (root / "models").rglob("*.toml"):
        bases[str(f.relative_to(root / "models"))[:-5]] = tomllib.loads(f.read_text())
    return bases


def provider_models(root: Path, pdir: str, bases: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    mroot = root / "providers" / pdir / "models"
    for f in sorted(mroot.rglob("*.toml")):
        mid = str(f.relative_to(mroot))[:-5]
        t = tomllib.loads(f.read_text())
        if "base_model" in t:
            base = bases.get(t["base_model"])
            if base is None:
                continue
            over = {k: v for k, v in t.items() if k not in ("base_model", "base_model_omit")}
            merged = deep_merge({k: v for k, v in base.items() if k not in ("id", "benchmarks", "license", "links",
                                                                              "weights")}, over)
            for path in t.get("base_model_omit", []):
                parts = path.split(".")
                cur: Any = merged
                for part in parts[:-1]:
                    cur = cur.get(part) if isinstance(cur, dict) else None
                if isinstance(cur, dict):
                    cur.pop(parts[-1], None)
            t = merged
        out[mid] = t
    return out


def litellm_index(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    data = json.loads(path.read_text())
    idx: dict[tuple[str, str], dict[str, Any]] = {}
    for key, v in data.items():
        if not isinstance(v, dict):
            continue
        prov = v.get("litellm_provider")
        if not isinstance(prov, str):
            continue
        mid = key
        for prefix in (prov + "/", prov.split("_")[0] + "/", "together_ai/", "fireworks_ai/", "bedrock/",
                       "nvidia_nim/", "vercel_ai_gateway/", "gmi/", "jina_ai/", "lambda_ai/", "meta_llama/",
                       "xiaomi_mimo/", "gradient_ai/"):
            if mid.startswith(prefix):
                mid = mid[len(prefix):]
                break
        idx.setdefault((prov, mid.lower()), v)
    return idx


def ll_lookup(idx: dict[tuple[str, str], dict[str, Any]], provs: tuple[str, ...], mid: str) -> dict[str, Any] | None:
    for prov in provs:
        for cand in (mid, mid.split("/", 1)[-1] if prov in ("fireworks_ai",) else mid,
                     f"accounts/fireworks/models/{mid}" if prov == "fireworks_ai" else mid):
            hit = idx.get((prov, cand.lower()))
            if hit is not None:
                return hit
    for prov in provs if "/" not in mid else ():  # LiteLLM may prefix an org the provider's ids lack (Scaleway)
        found = [v for (p, key), v in idx.items() if p == prov and key.rsplit("/", 1)[-1] == mid.lower()]
        if len(found) == 1:
            return found[0]
    return None


def per_m(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return round(float(value) * 1_000_000, 6)
    except (TypeError, ValueError):
        return None


def close(a: float | None, b: float | None, tol: float = 0.01) -> bool:
    if a is None or b is None:
        return False
    if a == b:
        return True
    return abs(a - b) <= tol * max(abs(a), abs(b))


def num(x: float) -> Any:
    return int(x) if float(x).is_integer() and abs(x) >= 1 else round(float(x), 6)


def convert(pid: str, mid: str, t: dict[str, Any] | None, ll: dict[str, Any] | None, orr: dict[str, Any] | None,
            pdir: str | None, stats: Counter[str]) -> dict[str, Any] | None:
    """One registry model from a models.dev record (t), a LiteLLM entry (ll) and an OpenRouter record (orr)."""
    if SKIP_ID.search(mid):
        stats["skip_kind"] += 1
        return None
    t = t or {}
    if t.get("status") == "deprecated":
        stats["skip_deprecated"] += 1
        return None
    mods = t.get("modalities") or {}
    out_mods = list(mods.get("output") or [])
    in_mods = list(mods.get("input") or [])
    ll_mode = (ll or {}).get("mode")
    if orr:
        arch = orr.get("architecture") or {}
        in_mods = [("pdf" if m == "file" else m) for m in arch.get("input_modalities") or in_mods]
        out_mods = list(arch.get("output_modalities") or out_mods)
    if not t and ll:
        if ll_mode == "chat":
            out_mods = ["text"]
            in_mods = ["text"] + (["image"] if ll.get("supports_vision") else [])
        elif ll_mode == "embedding":
            out_mods = ["embedding"]
            in_mods = ["text"]
        elif ll_mode == "image_generation":
            out_mods, in_mods = ["image"], ["text"]
        else:
            stats["skip_kind"] += 1
            return None
    embedding = "embedding" in out_mods or EMBED_ID.search(mid) is not None or ll_mode == "embedding"
    if embedding:
        caps = ["embedding"]
    elif "text" in out_mods:
        caps = ["chat"]
    elif "image" in out_mods:
        caps = ["image_generation"]
    else:
        stats["skip_kind"] += 1
        return None
    agree: list[str] = []
    single: list[str] = []
    differ: list[str] = []
    primary = "OpenRouter's API" if orr else ("models.dev" if t else "LiteLLM")
    second = "models.dev" if orr else "LiteLLM"

    def pick(label: str, a: float | None, b: float | None, exact: bool = False) -> float | None:
        """a from the primary source, b from the second."""
        if a is None and b is None:
            return None
        if a is not None and b is not None:
            if (a == b) if exact else close(a, b):
                agree.append(label)
                stats["fact_two_sources"] += 1
            else:
                differ.append(f"{label} {primary} {num(a):,} vs {second} {num(b):,}")
                stats["fact_disagree"] += 1
            return a
        stats["fact_single"] += 1
        single.append(label + (f" ({second})" if a is None else ""))
        return a if a is not None else b

    cost = t.get("cost") or {}
    lim = t.get("limit") or {}
    if orr:
        p = orr.get("pricing") or {}
        a_in, a_out = per_m(p.get("prompt")), per_m(p.get("completion"))
        a_cache = per_m(p.get("input_cache_read"))
        a_write = per_m(p.get("input_cache_write"))
        a_ctx = orr.get("context_length")
        a_max = (orr.get("top_provider") or {}).get("max_completion_tokens")
        b_in, b_out = cost.get("input"), cost.get("output")
        b_cache, b_write = cost.get("cache_read"), cost.get("cache_write")
        b_ctx, b_max = lim.get("context"), lim.get("output")
        if a_in is not None and a_in < 0:
            stats["skip_price"] += 1
            return None
    else:
        a_in, a_out = cost.get("input"), cost.get("output")
        a_cache, a_write = cost.get("cache_read"), cost.get("cache_write")
        a_ctx, a_max = lim.get("context"), lim.get("output")
        if t:
            b_in = per_m((ll or {}).get("input_cost_per_token"))
            b_out = per_m((ll or {}).get("output_cost_per_token"))
            b_cache = per_m((ll or {}).get("cache_read_input_token_cost"))
            b_write = per_m((ll or {}).get("cache_creation_input_token_cost"))
            b_ctx = (ll or {}).get("max_input_tokens") or None
            b_max = (ll or {}).get("max_output_tokens") or None
        else:
            a_in = per_m((ll or {}).get("input_cost_per_token"))
            a_out = per_m((ll or {}).get("output_cost_per_token"))
            a_cache = per_m((ll or {}).get("cache_read_input_token_cost"))
            a_write = None
            a_ctx = (ll or {}).get("max_input_tokens") or (ll or {}).get("max_tokens")
            a_max = (ll or {}).get("max_output_tokens")
            b_in = b_out = b_cache = b_write = b_ctx = b_max = None
    if embedding and a_out is None and a_in is not None:
        a_out = 0.0
    if embedding and b_out is None and b_in is not None:
        b_out = 0.0
    if pid in LOCAL:
        a_in = a_out = 0.0
        a_cache = a_write = None
    price_in = pick("input price", a_in, b_in)
    price_out = pick("output price", a_out, b_out)
    pricing: dict[str, Any] = {}
    if price_in is not None and price_out is not None:
        pricing = {"input": num(price_in), "output": num(price_out)}
        cached = a_cache if a_cache is not None else None
        if cached is not None:
            pick("cached input price", a_cache, b_cache)
            pricing["cached_input"] = num(cached)
        if a_write is not None and a_write > 0:
            pick("cache write price", a_write, b_write)
            pricing["cache_write"] = num(a_write)
    per_image = None
    if caps == ["image_generation"]:
        per_image = (ll or {}).get("output_cost_per_image")
        if per_image is not None:
            stats["fact_single"] += 1
            single.append("per-image price (LiteLLM)")
            pricing["per_image"] = num(per_image)
        if not pricing:
            stats["skip_price"] += 1
            return None
    elif not pricing:
        stats["skip_price"] += 1
        return None
    ctx = pick("context", a_ctx, b_ctx, exact=True) if "chat" in caps or embedding else a_ctx
    if "chat" in caps and not ctx:
        stats["skip_context"] += 1
        return None
    max_out: Any = None
    if "chat" in caps:
        if a_max and ctx and a_max >= ctx:
            stats["placeholder_max_output"] += 1
            a_max = None
        if b_max and ctx and b_max >= ctx:
            b_max = None
        max_out = pick("max output", a_max or None, b_max or None, exact=True)
    name = t.get("name") or (orr or {}).get("name") or mid
    features: list[str] = []
    ll_ = ll or {}
    if "chat" in caps:
        params = set((orr or {}).get("supported_parameters") or [])
        if t.get("tool_call") or "tools" in params or (not t and ll_.get("supports_function_calling")):
            features.append("tools")
        if ll_.get("supports_parallel_function_calling") and "tools" in features:
            features.append("parallel_tools")
        if "image" in in_mods:
            features.append("vision")
        if "response_format" in params:
            features.append("json_mode")
        if t.get("structured_output") or "structured_outputs" in params:
            features.append("structured_outputs")
        features.append("streaming")
        if t.get("reasoning") or "reasoning" in params or (not t and ll_.get("supports_reasoning")):
            features.append("reasoning")
        if "cached_input" in pricing:
            features.append("prompt_caching")
        if "audio" in in_mods:
            features.append("audio_input")
        if "pdf" in in_mods:
            features.append("pdf_input")
    m: dict[str, Any] = {"id": mid, "name": name, "capabilities": caps}
    if features:
        m["features"] = features
    if ctx:
        m["context_window"] = int(ctx)
    if max_out:
        m["max_output_tokens"] = int(max_out)
    m["pricing"] = pricing
    if embedding and ll_.get("output_vector_size"):
        m["embedding_dimensions"] = int(ll_["output_vector_size"])
        single.append("embedding dimensions (LiteLLM)")
        stats["fact_single"] += 1
    vin = [x for x in in_mods if x in ("text", "image", "audio", "pdf", "video")]
    vout = ["embedding"] if embedding else [x for x in out_mods if x in ("text", "image", "audio")]
    if vin and vout:
        m["modalities"] = {"input": vin, "output": vout}
    rd, kc = t.get("release_date"), t.get("knowledge")
    if good_date(rd):
        m["release_date"] = rd
    if good_date(kc):
        m["knowledge_cutoff"] = kc
    sources = []
    if orr:
        sources.append(OPENROUTER_URL)
    if t and pdir:
        sources.append(MD_URL.format(p=pdir, m=mid))
    if ll:
        sources.append(LITELLM_URL)
    m["sources"] = sources
    parts = []
    if orr:
        parts.append(f"From OpenRouter's /api/v1/models listing (the snapshot in models.dev, {SNAPSHOT}), "
                     "compared with models.dev's file.")
    elif t:
        parts.append(f"From models.dev ({SNAPSHOT} snapshot)" + (", compared with LiteLLM's map." if ll else
                                                                 "; LiteLLM's map has no entry."))
    else:
        parts.append("From LiteLLM's map only.")
    if agree:
        parts.append("Both agree on: " + ", ".join(agree) + ".")
    if differ:
        parts.append("Disagree (kept " + primary + "): " + "; ".join(differ) + ".")
    single_src = "models.dev" if (t and not orr) else primary
    groups: dict[str, list[str]] = {}
    for item in single:
        tagged = re.match(r"(.*) \((LiteLLM|models\.dev)\)$", item)
        source, label = (tagged.group(2), tagged.group(1)) if tagged else (single_src, item)
        groups.setdefault(source, []).append(label)
    for source, labels in groups.items():
        parts.append(f"single source: {source} for " + ", ".join(labels) + ".")
    if not orr:
        parts.append(f"Features, modalities and dates: single source: {single_src}.")
    elif "release_date" in m or "knowledge_cutoff" in m:
        parts.append("Features and modalities from OpenRouter's listing; release and knowledge dates: single source: "
                     "models.dev.")
    else:
        parts.append("Features and modalities from OpenRouter's listing.")
    tiers = cost.get("tiers") if isinstance(cost, dict) else None
    if tiers and not orr:
        tier = tiers[0]
        size = (tier.get("tier") or {}).get("size")
        if size and "input" in tier and "output" in tier:
            parts.append(f"Prompts above {size:,} tokens cost {num(tier['input'])} / {num(tier['output'])}.")
    if pid in LOCAL:
        parts.append("Runs locally: no charge.")
    shutdown = ll_.get("deprecation_date")  # LiteLLM's deprecation_date is the shutdown day
    if isinstance(shutdown, str) and good_date(shutdown):
        m["status"] = "retired" if shutdown <= TODAY else "deprecated"
        m["retirement_date"] = shutdown
    if t.get("status") in ("alpha", "beta"):
        parts.append(f"Marked {t['status']} by models.dev.")
    if "retirement_date" in m:
        parts.append(f"Shutdown date {m['retirement_date']}: single source: LiteLLM (its deprecation_date).")
    m["notes"] = " ".join(parts)
    return m


def dump(m: dict[str, Any]) -> str:
    def q(s: str) -> str:
        return json.dumps(s, ensure_ascii=False)

    def flow(xs: list[Any]) -> str:
        return "[" + ", ".join(q(x) if isinstance(x, str) and not re.fullmatch(r"[a-z_]+", x) else str(x)
                               for x in xs) + "]"

    lines = [f"id: {q(m['id'])}", f"name: {q(m['name'])}", f"capabilities: {flow(m['capabilities'])}"]
    if "features" in m:
        lines.append(f"features: {flow(m['features'])}")
    for k in ("context_window", "max_output_tokens"):
        if k in m:
            lines.append(f"{k}: {m[k]}")
    lines.append("pricing: {" + ", ".join(f"{k}: {v}" for k, v in m["pricing"].items()) + "}")
    if "embedding_dimensions" in m:
        lines.append(f"embedding_dimensions: {m['embedding_dimensions']}")
    if "modalities" in m:
        mo = m["modalities"]
        lines.append(f"modalities: {{input: {flow(mo['input'])}, output: {flow(mo['output'])}}}")
    if m.get("aliases"):
        lines.append(f"aliases: {flow(m['aliases'])}")
    for k in ("release_date", "knowledge_cutoff", "status", "retirement_date"):
        if k in m:
            lines.append(f"{k}: {m[k]}")
    lines.append(f"sources: {flow(m['sources'])}")
    lines.append(f"notes: {q(m['notes'])}")
    text = "\n".join(lines) + "\n"
    yaml.safe_load(text)
    return text


def file_name(mid: str) -> str:
    return mid.replace(":", "_").replace("/", "_") + ".yaml"


def main() -> None:
    md_root, ll_path, reg = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    write = "--write" in sys.argv
    only = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--only=")]
    bases = load_modelsdev(md_root)
    idx = litellm_index(ll_path)
    orouter = {m["id"]: m for m in json.loads((md_root / "models.json").read_text())["data"]}
    stats: Counter[str] = Counter()
    per_provider: dict[str, int] = defaultdict(int)
    for pid, (pdir, llp) in PROVIDERS.items():
        if only and pid not in only[0].split(","):
            continue
        folder = reg / "models" / pid
        taken: set[str] = set()
        for f in folder.glob("*.yaml") if folder.is_dir() else []:
            v = yaml.safe_load(f.read_text())
            taken.add(v["id"])
            taken.update(v.get("aliases") or [])
        recs: dict[str, tuple[dict[str, Any] | None, dict[str, Any] | None, dict[str, Any] | None]] = {}
        if pdir:
            for mid, t in provider_models(md_root, pdir, bases).items():
                orr = orouter.get(mid) if pid == "openrouter" else None
                if pid == "openrouter" and orr is None:
                    stats["skip_not_in_openrouter_api"] += 1
                    continue
                recs[mid] = (t, ll_lookup(idx, llp, mid), orr)
        else:
            data = json.loads(ll_path.read_text())
            for key, v in data.items():
                if isinstance(v, dict) and v.get("litellm_provider") in llp:
                    mid = key.split("/", 1)[1] if "/" in key and key.split("/", 1)[0] in (
                        v["litellm_provider"], "lambda_ai", "jina_ai", "voyage", "sambanova", "hyperbolic") else key
                    recs[mid] = (None, v, None)
        models: dict[str, dict[str, Any]] = {}
        for mid, (t, ll, orr) in sorted(recs.items()):
            if mid in taken or mid in SKIP.get(pid, set()):
                stats["skip_exists"] += 1
                continue
            geo = GEO.match(mid) if pid == "bedrock" else None
            if geo:
                stats["skip_geo_profile"] += 1
                continue
            m = convert(pid, mid, t, ll, orr, pdir, stats)
            if m is not None:
                models[mid] = m
        # dated snapshots: alias of the undated model when the facts are the same
        for mid in list(models):
            snap = SNAP.match(mid)
            if snap and snap.group(1) in models:
                base = models[snap.group(1)]
                mine = models[mid]
                if base["pricing"] == mine["pricing"] and base.get("context_window") == mine.get("context_window"):
                    base.setdefault("aliases", []).append(mid)
                    del models[mid]
                    stats["folded_snapshot"] += 1
        if pid == "bedrock":
            for mid in sorted(recs):
                geo = GEO.match(mid)
                if geo and geo.group(2) in models and mid not in taken:
                    models[geo.group(2)].setdefault("aliases", []).append(mid)
        for mid, m in models.items():
            per_provider[pid] += 1
            if write:
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / file_name(mid)
                if not path.exists():
                    path.write_text(dump(m), encoding="utf-8")
    print(dict(per_provider), sum(per_provider.values()))
    print(dict(stats))


if __name__ == "__main__":
    main()
