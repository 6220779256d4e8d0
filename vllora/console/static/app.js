// vllora console: a small single-page app over the gateway's own API (no framework, no CDN, works offline).
// Every value from the API is written with textContent (never innerHTML), so model names, tags and bodies
// cannot inject markup. State lives in the URL hash (#/page?filters) so every view can be shared.
"use strict";

(function () {
  const main = document.getElementById("main");
  const KEY = "vllora.key";

  // ---- tiny DOM helpers ---------------------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "style") {  // through the CSSOM: the CSP forbids style attributes
        for (const decl of String(v).split(";")) {
          const i = decl.indexOf(":");
          if (i > 0) node.style.setProperty(decl.slice(0, i).trim(), decl.slice(i + 1).trim());
        }
      }
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }
  function svg(tag, attrs, ...children) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    for (const c of children.flat()) node.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }
  const fmt = {
    money: v => v === null || v === undefined ? "—" : "$" + (v >= 1 ? v.toFixed(2) : v >= 0.01 ? v.toFixed(4) : v.toFixed(6)),
    int: v => v === null || v === undefined ? "—" : Number(v).toLocaleString("en-US"),
    ms: v => v === null || v === undefined ? "—" : (v >= 1000 ? (v / 1000).toFixed(2) + " s" : Math.round(v) + " ms"),
    time: ts => ts ? new Date(ts * 1000).toISOString().replace("T", " ").slice(0, 19) : "—",
    price: v => v === null || v === undefined ? "—" : "$" + String(v),
  };

  // ---- API ------------------------------------------------------------------------------------------------
  class Unauthorized extends Error {}
  async function api(path) {
    const headers = { "Accept": "application/json" };
    const key = sessionStorage.getItem(KEY);
    if (key) headers["Authorization"] = "Bearer " + key;
    const resp = await fetch(path, { headers });
    if (resp.status === 401) throw new Unauthorized("unauthorized");
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error((body.error && body.error.message) || ("HTTP " + resp.status));
    return body;
  }
  function askKey(refused) {
    const dialog = document.getElementById("login");
    document.getElementById("login-error").hidden = !refused;
    if (!dialog.open) dialog.showModal();
  }
  document.getElementById("login-form").addEventListener("submit", () => {
    sessionStorage.setItem(KEY, document.getElementById("login-key").value.trim());
    document.getElementById("login-key").value = "";
    route();
  });
  const signout = document.getElementById("signout");
  signout.addEventListener("click", () => { sessionStorage.removeItem(KEY); route(); });

  // ---- routing --------------------------------------------------------------------------------------------
  function parseHash() {
    const raw = location.hash.replace(/^#\/?/, "");
    const [path, query] = raw.split("?");
    const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    return { page: parts[0] || "requests", arg: parts.slice(1).join("/") || null, params: new URLSearchParams(query || "") };
  }
  function setParams(page, params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== "" && v !== null && v !== undefined) q.set(k, v);
    const next = "#/" + page + (q.toString() ? "?" + q.toString() : "");
    if (location.hash !== next) location.hash = next;
  }
  const pages = { requests: requestsPage, threads: threadsPage, usage: usagePage, models: modelsPage, keys: keysPage };

  async function route() {
    const { page, arg, params } = parseHash();
    for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.page === page);
    signout.hidden = !sessionStorage.getItem(KEY);
    const render = pages[page] || notFound;
    main.dataset.ready = "0";
    try {
      const view = await render(arg, params);
      main.replaceChildren(view);
      main.dataset.page = page;
      main.dataset.ready = "1";
    } catch (err) {
      if (err instanceof Unauthorized) {
        main.replaceChildren(el("p", { class: "muted" }, "A gateway key is needed to see this page."));
        askKey(Boolean(sessionStorage.getItem(KEY)));
      } else {
        main.replaceChildren(el("p", { class: "error", id: "load-error" }, "Could not load: " + err.message));
      }
      main.dataset.ready = "1";
    }
    refreshHealth();
  }
  function notFound() { return el("p", {}, "No such page. ", el("a", { href: "#/requests" }, "Requests")); }

  async function refreshHealth() {
    try {
      const h = await api("/health");
      const log = h.log || null;
      const text = log ? `log: ${log.database || "?"}, ${fmt.int(log.dropped || 0)} dropped` : "";
      const node = document.getElementById("health");
      node.textContent = text;
      node.className = log && (log.database !== "ok" || log.dropped) ? "error" : "muted";
    } catch (_) { /* health is informational */ }
  }

  // ---- shared pieces --------------------------------------------------------------------------------------
  function filterBar(fields, params, onApply) {
    const inputs = {};
    const form = el("form", { class: "bar", id: "filters", onsubmit: ev => { ev.preventDefault(); onApply(values()); } });
    for (const f of fields) {
      let input;
      if (f.options) {
        input = el("select", { name: f.name, "aria-label": f.label }, f.options.map(([v, t]) => el("option", { value: v }, t)));
        input.value = params.get(f.name) || f.default || "";
      } else {
        input = el("input", { name: f.name, placeholder: f.label, "aria-label": f.label, value: params.get(f.name) || "" });
      }
      input.addEventListener("change", () => onApply(values()));
      inputs[f.name] = input;
      form.appendChild(input);
    }
    form.appendChild(el("button", { type: "submit" }, "Apply"));
    function values() { const out = {}; for (const [k, i] of Object.entries(inputs)) out[k] = i.value.trim(); return out; }
    return form;
  }
  function cards(items) {
    return el("div", { class: "cards" }, items.map(([label, value, id]) =>
      el("div", { class: "card" }, el("div", { class: "label" }, label), el("div", { class: "value", id: id || null }, value))));
  }
  function statusCell(status) {
    return el("td", { class: status >= 400 ? "status-bad" : "ok" }, status === null || status === undefined ? "—" : String(status));
  }
  function tokens(r) { return (r.prompt_tokens || 0) + (r.completion_tokens || 0); }

  // ---- requests -------------------------------------------------------------------------------------------
  const REQUEST_FILTERS = [
    { name: "model", label: "model" }, { name: "provider", label: "provider" },
    { name: "status", label: "status", options: [["", "any status"], ["200", "200"], ["400", "400"], ["401", "401"], ["404", "404"], ["429", "429"], ["500", "500"], ["502", "502"], ["504", "504"]] },
    { name: "thread", label: "thread" }, { name: "tag", label: "tag" },
    { name: "since", label: "since", options: [["", "any time"], ["1h", "last hour"], ["24h", "last 24 h"], ["7d", "last 7 days"], ["30d", "last 30 days"]] },
  ];

  async function requestsPage(id, params) {
    if (id) return requestDetail(id);
    const query = new URLSearchParams();
    for (const f of REQUEST_FILTERS) if (params.get(f.name)) query.set(f.name, params.get(f.name));
    query.set("limit", "50");
    const page = await api("/api/requests?" + query.toString());
    const body = el("tbody", { id: "request-rows" });
    const table = el("table", {},
      el("thead", {}, el("tr", {}, ["Time (UTC)", "Endpoint", "Model", "Provider", "Status"].map(h => el("th", {}, h)),
        ["Tokens", "Cost", "Latency"].map(h => el("th", { class: "num" }, h)))),
      body);
    function addRows(rows) {
      for (const r of rows) {
        body.appendChild(el("tr", { class: "link", "data-id": r.id, onclick: () => { location.hash = "#/requests/" + encodeURIComponent(r.id); } },
          el("td", {}, fmt.time(r.ts)), el("td", {}, r.endpoint || ""), el("td", {}, r.model || ""),
          el("td", {}, r.provider || "—"), statusCell(r.status),
          el("td", { class: "num" }, fmt.int(tokens(r))), el("td", { class: "num" }, fmt.money(r.cost)),
          el("td", { class: "num" }, fmt.ms(r.latency_ms))));
      }
    }
    addRows(page.data || []);
    const more = el("div", { class: "more" });
    let cursor = page.next_cursor;
    function moreButton() {
      more.replaceChildren();
      if (!cursor) return;
      more.appendChild(el("button", { type: "button", id: "load-more", onclick: async () => {
        query.set("cursor", cursor);
        const next = await api("/api/requests?" + query.toString());
        addRows(next.data || []); cursor = next.next_cursor; moreButton();
      } }, "Load more"));
    }
    moreButton();
    return el("section", {},
      el("h1", {}, "Requests"),
      filterBar(REQUEST_FILTERS, params, v => setParams("requests", v)),
      (page.data || []).length ? table : el("p", { class: "muted", id: "empty" }, "No requests match these filters yet."),
      more);
  }

  async function requestDetail(id) {
    const r = await api("/api/requests/" + encodeURIComponent(id));
    const section = el("section", { id: "request-detail" },
      el("p", {}, el("a", { href: "#/requests" }, "← all requests")),
      el("h1", {}, "Request ", el("code", {}, r.id)),
      cards([
        ["Model", r.model || "—", "d-model"], ["Provider / upstream", (r.provider || "—") + " / " + (r.upstream_model || "—"), "d-target"],
        ["Status", String(r.status), "d-status"], ["Cost", fmt.money(r.cost), "d-cost"],
        ["Prompt tokens", fmt.int(r.prompt_tokens), "d-prompt"], ["Completion tokens", fmt.int(r.completion_tokens), "d-completion"],
        ["Cached / reasoning", fmt.int(r.cached_tokens) + " / " + fmt.int(r.reasoning_tokens), "d-cached"],
        ["Latency", fmt.ms(r.latency_ms), "d-latency"], ["Time to first token", r.stream ? fmt.ms(r.ttft_ms) : "not a stream", "d-ttft"],
        ["Time (UTC)", fmt.time(r.ts)], ["Endpoint", r.endpoint || "—"],
        ["Thread / run", (r.thread_id || "—") + " / " + (r.run_id || "—")],
      ]));
    if (r.error_code || r.error_type) section.appendChild(el("p", { class: "error", id: "d-error" }, (r.error_type || "") + " " + (r.error_code || "")));
    if (r.tags && r.tags.length) section.appendChild(el("p", {}, "Tags: ", r.tags.join(", ")));
    section.appendChild(el("h2", {}, "Attempts"));
    section.appendChild(timeline(r));
    section.appendChild(el("h2", {}, "Request body"));
    section.appendChild(r.request_body ? el("pre", { id: "d-request-body" }, pretty(r.request_body)) : el("p", { class: "muted" }, "Not kept (log_bodies is off)."));
    section.appendChild(el("h2", {}, "Response body"));
    section.appendChild(r.response_body ? el("pre", { id: "d-response-body" }, pretty(r.response_body)) : el("p", { class: "muted" }, "Not kept (log_bodies is off)."));
    if (r.thread_id) section.appendChild(el("p", {}, el("a", { href: "#/threads/" + encodeURIComponent(r.thread_id) }, "Open thread " + r.thread_id)));
    return section;
  }
  function pretty(value) {
    if (typeof value === "string") { try { return JSON.stringify(JSON.parse(value), null, 2); } catch (_) { return value; } }
    return JSON.stringify(value, null, 2);
  }
  function timeline(r) {
    const attempts = r.attempts || [];
    if (!attempts.length) return el("p", { class: "muted" }, "No upstream attempt (answered by the gateway).");
    const start = r.ts;
    const total = Math.max(r.latency_ms || 0, ...attempts.map(a => ((a.start_ts || start) - start) * 1000 + (a.latency_ms || 0)), 1);
    return el("div", { class: "timeline", id: "attempts" }, attempts.map((a, i) => {
      const left = Math.max(0, ((a.start_ts || start) - start) * 1000) / total * 100;
      const width = Math.max(0.5, (a.latency_ms || 0) / total * 100);
      const label = `#${i + 1} ${a.provider}/${a.model} → ${a.status === null || a.status === undefined ? "—" : a.status}${a.error_code ? " " + a.error_code : ""} · ${fmt.ms(a.latency_ms)}`;
      return el("div", { class: "tl-row" }, el("div", { class: "tl-bar" + (a.status >= 400 || a.error_code ? " bad" : ""),
        style: `left:${left.toFixed(2)}%;width:${width.toFixed(2)}%`, title: label }, label));
    }));
  }

  // ---- threads --------------------------------------------------------------------------------------------
  async function threadsPage(id, params) {
    if (id) return threadDetail(id);
    const since = params.get("since") || "";
    const page = await api("/api/threads?limit=100" + (since ? "&since=" + encodeURIComponent(since) : ""));
    const rows = (page.data || []).map(t => el("tr", { class: "link", "data-id": t.thread_id, onclick: () => { location.hash = "#/threads/" + encodeURIComponent(t.thread_id); } },
      el("td", {}, t.title || t.thread_id), el("td", { class: "num" }, fmt.int(t.requests)), el("td", { class: "num" }, fmt.int(t.runs)),
      el("td", { class: "num" }, fmt.int((t.prompt_tokens || 0) + (t.completion_tokens || 0))), el("td", { class: "num" }, fmt.money(t.cost)),
      el("td", {}, fmt.time(t.last_ts))));
    return el("section", {}, el("h1", {}, "Threads"),
      el("p", { class: "muted" }, "Requests grouped by the X-Thread-Id header (X-Run-Id groups runs within a thread)."),
      filterBar([REQUEST_FILTERS[5]], params, v => setParams("threads", v)),
      rows.length ? el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Thread"), ["Requests", "Runs", "Tokens", "Cost"].map(h => el("th", { class: "num" }, h)), el("th", {}, "Last (UTC)"))),
        el("tbody", { id: "thread-rows" }, rows)) : el("p", { class: "muted", id: "empty" }, "No threads yet: send X-Thread-Id with your requests."));
  }

  async function threadDetail(id) {
    const t = await api("/api/threads/" + encodeURIComponent(id));
    const convo = el("div", { id: "conversation" });
    let seen = 0;  // messages of the growing history already shown (an agent resends it with every call)
    for (const r of t.requests || []) {
      const messages = requestMessages(r.request_body);
      // a continuation shows only what is new; an unrelated call shows its last message
      const fresh = messages.length > seen ? messages.slice(seen) : messages.slice(-1);
      for (const m of fresh) if (m.role !== "assistant" || fresh.length === 1) convo.appendChild(message(m.role, m.text));
      const reply = replyText(r.response_body);
      if (reply !== null) convo.appendChild(message("assistant", reply, r));
      else convo.appendChild(el("div", { class: "msg", "data-id": r.id }, el("span", { class: "who" }, r.model + " · " + fmt.time(r.ts)),
        el("a", { href: "#/requests/" + encodeURIComponent(r.id) }, `${r.endpoint} → ${r.status}, ${fmt.int(tokens(r))} tokens, ${fmt.money(r.cost)}`)));
      seen = messages.length + 1;
    }
    return el("section", {}, el("p", {}, el("a", { href: "#/threads" }, "← all threads")),
      el("h1", {}, t.title || t.thread_id),
      cards([["Requests", fmt.int((t.requests || []).length)], ["Runs", fmt.int((t.runs || []).length)],
        ["Cost", fmt.money((t.requests || []).reduce((s, r) => s + (r.cost || 0), 0))]]),
      convo);
  }
  function message(role, text, r) {
    return el("div", { class: "msg " + role },
      el("span", { class: "who" }, role + (r ? " · " + r.model + " · " + fmt.time(r.ts) : "")),
      text,
      r ? el("div", {}, el("a", { href: "#/requests/" + encodeURIComponent(r.id), class: "muted" }, "details")) : null);
  }
  function parse(body) { if (typeof body === "string") { try { return JSON.parse(body); } catch (_) { return null; } } return body || null; }
  function contentText(content) {
    if (typeof content === "string") return content;
    if (Array.isArray(content)) return content.map(p => p.text || p.input_text || (p.type ? "[" + p.type + "]" : "")).join("");
    return "";
  }
  function requestMessages(body) {
    const b = parse(body);
    if (!b) return [];
    if (Array.isArray(b.messages)) return b.messages.map(m => ({ role: m.role === "assistant" ? "assistant" : "user", text: contentText(m.content) }));
    if (typeof b.input === "string") return [{ role: "user", text: b.input }];
    if (Array.isArray(b.input)) return b.input.filter(i => i.role).map(i => ({ role: i.role === "assistant" ? "assistant" : "user", text: contentText(i.content) }));
    return [];
  }
  function replyText(body) {
    const b = parse(body);
    if (!b) return null;
    if (b.choices && b.choices[0] && b.choices[0].message) return contentText(b.choices[0].message.content) || "[tool call]";
    if (Array.isArray(b.content)) return b.content.map(c => c.text || "").join("");
    if (Array.isArray(b.output)) return b.output.map(o => contentText(o.content || [])).join("");
    return null;
  }

  // ---- usage ----------------------------------------------------------------------------------------------
  async function usagePage(_, params) {
    const since = params.get("since") || "7d";
    const bucket = ["1h", "24h", "48h"].includes(since) ? "hour" : "day";
    const [overTime, byModel] = await Promise.all([
      api(`/api/usage?group_by=${bucket}&since=${encodeURIComponent(since)}`),
      api(`/api/usage?group_by=model&since=${encodeURIComponent(since)}`),
    ]);
    const total = overTime.total || {};
    overTime.data = fillBuckets(overTime.data || [], bucket, since);
    const models = byModel.data || [];
    return el("section", {}, el("h1", {}, "Usage"),
      filterBar([{ name: "since", label: "since", default: "7d", options: [["1h", "last hour"], ["24h", "last 24 h"], ["7d", "last 7 days"], ["30d", "last 30 days"]] }], params, v => setParams("usage", v)),
      cards([["Requests", fmt.int(total.requests), "u-requests"], ["Errors", fmt.int(total.errors), "u-errors"], ["Cost", fmt.money(total.cost), "u-cost"],
        ["Prompt tokens", fmt.int(total.prompt_tokens), "u-prompt"], ["Completion tokens", fmt.int(total.completion_tokens), "u-completion"],
        ["p50 / p95 latency", fmt.ms(total.p50_ms) + " / " + fmt.ms(total.p95_ms)]]),
      el("h2", {}, `Cost per ${bucket} (USD)`), barChart(overTime.data || [], "cost", "cost-chart", fmt.money),
      el("h2", {}, `Tokens per ${bucket}`), barChart(overTime.data || [], "tokens", "tokens-chart", fmt.int),
      el("h2", {}, "By model"), modelBars(models),
      models.length ? el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Model"), ["Requests", "Errors", "Prompt", "Completion", "Cost", "p50", "p95"].map(h => el("th", { class: "num" }, h)))),
        el("tbody", { id: "usage-rows" }, models.map(g => el("tr", {}, el("td", {}, g.group),
          el("td", { class: "num" }, fmt.int(g.requests)), el("td", { class: "num" }, fmt.int(g.errors)),
          el("td", { class: "num" }, fmt.int(g.prompt_tokens)), el("td", { class: "num" }, fmt.int(g.completion_tokens)),
          el("td", { class: "num" }, fmt.money(g.cost)), el("td", { class: "num" }, fmt.ms(g.p50_ms)), el("td", { class: "num" }, fmt.ms(g.p95_ms)))))) : el("p", { class: "muted", id: "empty" }, "No usage in this period."));
  }
  function fillBuckets(rows, bucket, since) {
    // every hour or day of the period gets a bar, so a quiet hour shows as a gap, not a missing column
    const spans = { "1h": 1, "24h": 24, "48h": 48, "7d": 7, "30d": 30 };
    const count = spans[since];
    if (!count) return rows;
    const byGroup = Object.fromEntries(rows.map(r => [r.group, r]));
    const step = bucket === "hour" ? 3600e3 : 86400e3;
    const out = [];
    for (let i = count - 1; i >= 0; i--) {
      const iso = new Date(Date.now() - i * step).toISOString();
      const group = bucket === "hour" ? iso.slice(0, 13) + ":00" : iso.slice(0, 10);
      out.push(byGroup[group] || { group, requests: 0, cost: 0, prompt_tokens: 0, completion_tokens: 0 });
    }
    return out;
  }
  function barChart(rows, field, id, label) {
    const values = rows.map(r => field === "tokens" ? (r.prompt_tokens || 0) + (r.completion_tokens || 0) : (r[field] || 0));
    const W = 900, H = 220, pad = 28, max = Math.max(...values, 0) || 1;
    const bw = rows.length ? (W - pad * 2) / rows.length : 0;
    const chart = svg("svg", { class: "chart", id, viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": id });
    chart.appendChild(svg("line", { x1: pad, y1: H - pad, x2: W - pad, y2: H - pad, stroke: "#d0d7de" }));
    chart.appendChild(svg("text", { x: pad, y: 12 }, "max " + label(max)));
    rows.forEach((r, i) => {
      const h = (values[i] / max) * (H - pad * 2);
      const rect = svg("rect", { class: "v", x: pad + i * bw + 1, y: H - pad - h, width: Math.max(1, bw - 2), height: h });
      rect.appendChild(svg("title", {}, `${r.group}: ${label(values[i])}`));
      chart.appendChild(rect);
      const g = String(r.group), short = g.length > 10 ? g.slice(11) : g.slice(5);  // "HH:00" or "MM-DD"
      if (rows.length <= 12 || i % Math.ceil(rows.length / 8) === 0) chart.appendChild(svg("text", { x: pad + i * bw + 2, y: H - 10 }, short));
    });
    if (!rows.length) chart.appendChild(svg("text", { x: W / 2 - 40, y: H / 2 }, "no data"));
    return chart;
  }
  function modelBars(groups) {
    const top = groups.slice(0, 12), max = Math.max(...top.map(g => g.cost || 0), 0) || 1;
    const W = 900, row = 22, H = Math.max(row, top.length * row + 6);
    const chart = svg("svg", { class: "chart", id: "model-chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "cost by model" });
    top.forEach((g, i) => {
      const w = ((g.cost || 0) / max) * (W - 320);
      chart.appendChild(svg("text", { x: 0, y: i * row + 15 }, String(g.group).slice(0, 40)));
      chart.appendChild(svg("rect", { class: "v2", x: 250, y: i * row + 3, width: Math.max(1, w), height: row - 6 }));
      chart.appendChild(svg("text", { x: 256 + w, y: i * row + 15 }, fmt.money(g.cost)));
    });
    return chart;
  }

  // ---- keys (master key only) -------------------------------------------------------------------------------
  async function keysPage(_, params) {
    const since = params.get("since") || "24h";
    const [keys, usage] = await Promise.all([api("/api/keys"), api(`/api/usage?group_by=key&since=${encodeURIComponent(since)}`)]);
    const byKey = Object.fromEntries((usage.data || []).map(g => [g.group, g]));
    const rows = (keys.data || []).map(k => {
      const u = byKey[k.id] || {};
      const spent = k.spend && k.spend.usd !== null && k.spend.usd !== undefined ? k.spend.usd : null;
      const budget = k.budget_usd === null || k.budget_usd === undefined ? "—" :
        `${fmt.money(spent || 0)} of ${fmt.money(k.budget_usd)} / ${k.period}`;
      const pct = spent !== null && k.budget_usd ? Math.min(100, spent / k.budget_usd * 100) : null;
      return el("tr", { "data-id": k.id },
        el("td", {}, k.name), el("td", {}, el("code", {}, k.display)), el("td", { class: k.status === "active" ? "ok" : "status-bad" }, k.status),
        el("td", {}, budget, pct === null ? null : el("div", { class: "meter", title: pct.toFixed(1) + "%" }, el("span", { style: `width:${pct.toFixed(1)}%` }))),
        el("td", { class: "num" }, k.rpm === null || k.rpm === undefined ? "—" : fmt.int(k.rpm)),
        el("td", { class: "num" }, k.tpm === null || k.tpm === undefined ? "—" : fmt.int(k.tpm)),
        el("td", {}, (k.models || []).join(", ") || "all"),
        el("td", { class: "num" }, fmt.int(u.requests || 0)), el("td", { class: "num" }, fmt.int(u.errors || 0)),
        el("td", { class: "num" }, fmt.money(u.cost || 0)));
    });
    return el("section", {}, el("h1", {}, "Keys"),
      el("p", { class: "muted" }, "Issued keys with their spend against budget and their traffic. Manage them with `vllora keys` or /api/keys."),
      filterBar([{ name: "since", label: "traffic since", default: "24h", options: [["1h", "last hour"], ["24h", "last 24 h"], ["7d", "last 7 days"], ["30d", "last 30 days"]] }], params, v => setParams("keys", v)),
      rows.length ? el("table", {}, el("thead", {}, el("tr", {}, ["Name", "Key", "Status", "Spend / budget"].map(h => el("th", {}, h)),
        ["rpm", "tpm"].map(h => el("th", { class: "num" }, h)), el("th", {}, "Models"), ["Requests", "Errors", "Cost"].map(h => el("th", { class: "num" }, h)))),
        el("tbody", { id: "key-rows" }, rows)) : el("p", { class: "muted", id: "empty" }, "No keys yet: vllora keys create --name NAME"));
  }

  // ---- models ---------------------------------------------------------------------------------------------
  let catalog = null;
  async function modelsPage(_, params) {
    if (!catalog) catalog = (await api("/api/models")).models || [];
    const providers = [...new Set(catalog.map(m => m.provider))].sort();
    const q = (params.get("q") || "").toLowerCase(), provider = params.get("provider") || "", capability = params.get("capability") || "";
    const sort = params.get("sort") || "provider", dir = params.get("dir") === "desc" ? -1 : 1;
    const key = m => ({ id: m.id, provider: m.provider, context: m.context_window, input: m.pricing && m.pricing.input, output: m.pricing && m.pricing.output, status: m.status }[sort]);
    const shown = catalog.filter(m => (!provider || m.provider === provider) && (!capability || (m.capabilities || []).includes(capability))
      && (!q || (m.id + " " + (m.name || "") + " " + (m.features || []).join(" ")).toLowerCase().includes(q)));
    shown.sort((a, b) => {
      const x = key(a), y = key(b);
      if (x === y) return a.id < b.id ? -1 : 1;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * dir;
    });
    const state = { q: params.get("q") || "", provider, capability, sort: params.get("sort") || "", dir: params.get("dir") || "" };
    const header = (label, k, num) => el("th", { class: "sortable" + (num ? " num" : ""), "data-key": k, "aria-sort": sort === k ? (dir === 1 ? "ascending" : "descending") : null,
      onclick: () => setParams("models", { ...state, sort: k, dir: sort === k && dir === 1 ? "desc" : "" }) }, label);
    return el("section", {}, el("h1", {}, "Models"),
      el("p", { class: "muted", id: "model-count" }, `${shown.length} of ${catalog.length} models. Prices in USD per 1M tokens.`),
      filterBar([{ name: "q", label: "filter by id, name, feature" },
        { name: "provider", label: "provider", options: [["", "all providers"], ...providers.map(p => [p, p])] },
        { name: "capability", label: "capability", options: [["", "all capabilities"], ["chat", "chat"], ["embedding", "embedding"], ["image_generation", "image_generation"]] }],
        params, v => setParams("models", { ...state, ...v })),
      el("table", {}, el("thead", {}, el("tr", {}, header("Model", "id"), header("Provider", "provider"), el("th", {}, "Capabilities"),
        header("Context", "context", true), header("Input", "input", true), header("Output", "output", true), header("Status", "status"))),
      el("tbody", { id: "model-rows" }, shown.map(m => el("tr", {}, el("td", {}, m.id), el("td", {}, m.provider), el("td", {}, (m.capabilities || []).join(", ")),
        el("td", { class: "num" }, fmt.int(m.context_window)), el("td", { class: "num" }, fmt.price(m.pricing && m.pricing.input)),
        el("td", { class: "num" }, fmt.price(m.pricing && m.pricing.output)), el("td", {}, m.status || "active"))))));
  }

  window.addEventListener("hashchange", route);
  route();
})();
