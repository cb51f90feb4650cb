// critica web UI: a static page that reads only the /v1 API (no build step).
// Every string from the API goes into the page through textContent, never innerHTML.
"use strict";

const view = document.getElementById("view");
const crumbs = document.getElementById("crumbs");
const banner = document.getElementById("banner");
const KEY = "critica.apiKey";
const keyInput = document.getElementById("key");
keyInput.value = localStorage.getItem(KEY) || "";
document.getElementById("keyform").addEventListener("submit", (e) => {
  e.preventDefault();
  localStorage.setItem(KEY, keyInput.value.trim());
  route();
});

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function headers() {
  const key = localStorage.getItem(KEY);
  return key ? { Authorization: "Bearer " + key } : {};
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path) {
  const resp = await fetch("/v1" + path, { headers: headers() });
  if (!resp.ok) {
    let msg = resp.statusText;
    try { msg = (await resp.json()).error.message; } catch (_) { /* not JSON */ }
    throw new ApiError(resp.status, msg);
  }
  return resp;
}
const getJSON = async (path) => (await api(path)).json();

function badge(verdict) { return h("span", { class: "badge v-" + verdict, "data-verdict": verdict }, verdict); }
function enc(s) { return encodeURIComponent(s); }
function qs(p) { return p.toString().replace(/%2C/gi, ","); }  // run lists stay readable in the address bar
function stepNo(i) { return i === null || i === undefined ? "—" : String(i + 1); }  // people read 1-based steps
function pct(x) { return x === null || x === undefined ? "—" : (100 * x).toFixed(1) + "%"; }

function setCrumbs(parts) {
  crumbs.replaceChildren(...parts.flatMap((p, i) => [i ? " / " : "", p.href ? h("a", { href: p.href }, p.label) : p.label]));
}

function showError(err) {
  const hint = err.status === 401 ? " — enter an API key at the top right." : "";
  view.replaceChildren(h("p", { class: "error", role: "alert" }, `error ${err.status || ""}: ${err.message}${hint}`));
}

// ---- shared pieces ----------------------------------------------------------------------------------------------

// The right/wrong mark of a critique against the item's gold label (null: no gold, or nothing to grade).
function markBadge(right) {
  if (right === null || right === undefined) return "";
  return h("span", { class: "mark " + (right ? "right" : "wrong"), "data-mark": right ? "right" : "wrong",
    title: right ? "agrees with the gold label" : "disagrees with the gold label" }, right ? "✓ right" : "✗ wrong");
}
function ratio(v) { return typeof v === "number" ? pct(v) : "—"; }  // bench figures are shares, 0..1
function ci(v) { return Array.isArray(v) && v.length === 2 ? ` [${pct(v[0])}, ${pct(v[1])}]` : ""; }

// A table whose header cells sort it in the browser (small, unpaged tables such as the runs list); the item list is
// paged, so it sorts on the server instead, through its own header links.
// columns: [{ label, key(row) -> comparable, cell(row) -> node, cls }]; rowOf(row, cells) -> <tr>.
function sortableTable(attrs, columns, rows, rowOf = (r, cells) => h("tr", {}, cells)) {
  const table = h("table", attrs);
  let by = null, desc = false;
  const body = h("tbody");
  const head = h("tr", {}, columns.map((c, i) => h("th", { class: (c.cls || "") + " sortable", "data-col": c.label, "aria-sort": "none",
    onclick: () => { desc = by === i ? !desc : false; by = i; draw(); } }, c.label)));
  function draw() {
    const sorted = by === null ? rows : [...rows].sort((a, b) => {
      const x = columns[by].key(a), y = columns[by].key(b);
      return (x < y ? -1 : x > y ? 1 : 0) * (desc ? -1 : 1);
    });
    head.querySelectorAll("th").forEach((th, i) => th.setAttribute("aria-sort", i === by ? (desc ? "descending" : "ascending") : "none"));
    body.replaceChildren(...sorted.map((r) => rowOf(r, columns.map((c) => h("td", { class: c.cls || "", "data-label": c.label }, c.cell(r))))));
  }
  table.append(h("thead", {}, head), body);
  draw();
  return table;
}

// ---- runs page -------------------------------------------------------------------------------------------------

async function runsPage() {
  setCrumbs([{ label: "runs" }]);
  const runs = await getJSON("/runs");
  if (!runs.length) {
    view.replaceChildren(h("h1", {}, "Runs"), h("div", { class: "empty", id: "empty" },
      h("p", {}, "No runs stored yet. Every critique run is kept, and shows up here:"),
      h("pre", {}, "critica critique FILE                 # stored under a generated name (--run NAME to choose one)\n" +
        "critica batch FILE --run NAME         # large files: resumable, one transaction per item"),
      h("p", { class: "muted" }, "Or POST /v1/critiques (see the API docs).")));
    return;
  }
  const chosen = new Set();
  const compareBtn = h("button", { id: "compare-selected", disabled: true, onclick: () => {
    location.hash = "#/compare?" + qs(new URLSearchParams({ runs: [...chosen].join(",") }));
  } }, "compare selected");
  const columns = [
    { label: "", key: (r) => 0, cell: (r) => h("input", { type: "checkbox", "aria-label": "compare " + r.id, "data-pick": r.id,
      onclick: (e) => e.stopPropagation(), onchange: (e) => { e.target.checked ? chosen.add(r.id) : chosen.delete(r.id); compareBtn.disabled = chosen.size < 2; } }) },
    { label: "run", key: (r) => r.id, cell: (r) => h("a", { href: "#/runs/" + enc(r.id) }, r.id), cls: "wrap" },
    { label: "critic", key: (r) => r.critic || "", cell: (r) => r.critic || "—" },
    { label: "model", key: (r) => r.model || "", cell: (r) => r.model || "—", cls: "opt wrap" },
    { label: "source", key: (r) => r.source || "", cell: (r) => r.source || "—", cls: "opt wrap" },
    { label: "items", key: (r) => r.items, cell: (r) => r.items },
    { label: "correct", key: (r) => r.verdicts.correct || 0, cell: (r) => r.verdicts.correct || 0, cls: "opt" },
    { label: "incorrect", key: (r) => r.verdicts.incorrect || 0, cell: (r) => r.verdicts.incorrect || 0, cls: "opt" },
    { label: "unscored", key: (r) => r.verdicts.unscored || 0, cell: (r) => r.verdicts.unscored || 0, cls: "opt" },
    { label: "scored", key: (r) => r.scored_share ?? -1, cell: (r) => pct(r.scored_share) },
    { label: "input errors", key: (r) => r.input_errors, cell: (r) => r.input_errors, cls: "opt" },
    { label: "status", key: (r) => r.status, cell: (r) => r.status, cls: "opt" },
    { label: "started", key: (r) => r.started_at || "", cell: (r) => (r.started_at || "").replace("T", " ").replace("+00:00", ""), cls: "opt" },
  ];
  const rowOf = (r, cells) => h("tr", { class: "link", "data-run": r.id, onclick: () => { location.hash = "#/runs/" + enc(r.id); } }, cells);
  view.replaceChildren(h("h1", {}, "Runs"),
    h("div", { class: "toolbar" }, compareBtn, h("span", { class: "muted" }, "tick two or more runs over the same items to compare them")),
    sortableTable({ id: "runs", class: "cardable" }, columns, runs, rowOf));
}

// ---- run page: summary figures, figures against gold, filterable sortable item list, plots -----------------------

const PLOTS = ["verdicts", "first-error", "latency", "figures"];
const FILTER_KEYS = ["critic", "verdict", "parse_status", "disagreement", "outcome", "q"];

function filterQuery(params, keys = FILTER_KEYS.concat(["sort"])) {
  const p = new URLSearchParams();
  for (const k of keys) if (params.get(k)) p.set(k, params.get(k));
  return p;
}

async function plotImg(run, kind, params) {
  const img = h("img", { alt: `${kind} plot of ${run}`, "data-plot": kind });
  try {
    const q = filterQuery(params, FILTER_KEYS);
    const blob = await (await api(`/runs/${enc(run)}/plots/${kind}.png?${q}`)).blob();  // fetched so the key header is sent
    img.src = URL.createObjectURL(blob);
  } catch (e) { img.alt = `${kind}: ${e.message}`; }
  return img;
}

function metricCards(m, id) {
  const card = (num, lbl, extra) => h("div", { class: "card", "data-figure": lbl }, h("div", { class: "num" }, num), h("div", { class: "lbl" }, lbl, extra || ""));
  if (!m.kind) return h("p", { class: "muted", id }, "These items carry no gold label (ProcessBench/MR-GSM8K 'label', 'gold_verdict', WiCE 'label'): no figures against gold.");
  return h("div", { class: "cards", id },
    Object.entries(m.names).filter(([k]) => m.figures[k] !== undefined && m.figures[k] !== null).map(([k, name]) =>
      card(ratio(m.figures[k]), name, k === "f1" ? h("span", { class: "ci" }, ci(m.figures.f1_ci)) :
        k === "precision_step" ? h("span", { class: "ci" }, ci(m.figures.precision_step_ci)) :
        k === "accuracy" ? h("span", { class: "ci" }, ci(m.figures.accuracy_ci)) : k === "macro_f1" ? h("span", { class: "ci" }, ci(m.figures.macro_f1_ci)) : "")),
    card(`${m.right} / ${m.labelled}`, "right against gold"), card(m.unlabelled, "without gold"));
}

async function runPage(run, params) {
  setCrumbs([{ label: "runs", href: "#/" }, { label: run }]);
  const fq = filterQuery(params, FILTER_KEYS);
  const [r, m, errors, all] = await Promise.all([getJSON(`/runs/${enc(run)}`), getJSON(`/runs/${enc(run)}/metrics?${fq}`),
    getJSON(`/runs/${enc(run)}/errors`), getJSON("/runs")]);
  const card = (num, lbl) => h("div", { class: "card" }, h("div", { class: "num" }, num), h("div", { class: "lbl" }, lbl));
  const figures = h("div", { class: "cards", id: "figures" },
    card(r.items, "critiques"), card(r.verdicts.correct || 0, "correct"), card(r.verdicts.incorrect || 0, "incorrect"),
    card(r.verdicts.unscored || 0, "unscored"), card(pct(r.scored_share), "scored"), card(r.input_errors, "input errors"));
  const meta = h("p", { class: "muted wrap" }, `critic ${r.critic || "—"} · model ${r.model || "—"} · source ${r.source || "—"} · ${r.status}` +
    (r.peers.length ? ` · shown with ${r.peers.join(", ")}` : ""));
  const others = all.filter((x) => x.id !== run);
  const compare = others.length ? h("form", { class: "toolbar", id: "compare-with", onsubmit: (e) => {
    e.preventDefault();
    const other = e.target.querySelector("select").value;
    const p = filterQuery(params, ["disagreement", "verdict", "q"]);
    p.set("runs", [run, other].join(","));
    location.hash = `#/compare?${qs(p)}`;
  } }, h("label", {}, "compare with ", h("select", { name: "with" }, others.map((o) => h("option", { value: o.id, selected: r.peers[0] === o.id }, `${o.id} (${o.critic || "?"})`)))),
    h("button", { type: "submit" }, "compare")) : "";
  const plots = h("div", { class: "plots", id: "plots" });
  const list = h("div", { id: "items" });
  const filtered = FILTER_KEYS.some((k) => params.get(k));
  view.replaceChildren(...[h("h1", {}, run), meta, figures,
    h("h2", {}, "Against gold labels", filtered ? h("span", { class: "muted" }, " (filtered items)") : ""), metricCards(m, "gold-figures"),
    compare, h("h2", {}, "Items"), list, h("h2", {}, "Plots", filtered ? h("span", { class: "muted" }, " (filtered items)") : ""), plots,
    errors.length ? [h("h2", {}, `Input errors (${errors.length})`), inputErrors(errors)] : ""].flat());
  Promise.all(PLOTS.map((k) => plotImg(run, k, params))).then((imgs) => plots.replaceChildren(...imgs));
  await itemList(run, params, list, r);
}

function inputErrors(errors) {
  return h("table", { id: "input-errors", class: "cardable" }, h("thead", {}, h("tr", {}, ["file", "where", "field", "reason"].map((t) => h("th", {}, t)))),
    h("tbody", {}, errors.map((e) => h("tr", {}, h("td", { class: "wrap", "data-label": "file" }, e.source), h("td", { "data-label": "where" }, e.location),
      h("td", { "data-label": "field" }, e.field || "—"), h("td", { class: "wrap", "data-label": "reason" }, e.reason)))));
}

function filters(run, params, critics) {
  const sel = (name, label, options) => h("label", {}, label + " ",
    h("select", { name, onchange: (e) => update(name, e.target.value) },
      ...options.map(([v, t]) => h("option", { value: v, selected: (params.get(name) || "") === v }, t))));
  const update = (name, value) => {
    const p = new URLSearchParams(params);
    if (value) p.set(name, value); else p.delete(name);
    p.delete("offset");
    location.hash = `#/runs/${enc(run)}?${p}`;
  };
  const current = params.get("critic");
  const names = current && !critics.includes(current) ? [...critics, current] : critics;
  return h("div", { class: "filters" },
    sel("critic", "critic", [["", "the run's own"], ...names.map((c) => [c, c])]),
    sel("verdict", "verdict", [["", "any"], ["correct", "correct"], ["incorrect", "incorrect"], ["unscored", "unscored"]]),
    sel("outcome", "vs gold", [["", "any"], ["right", "right"], ["wrong", "wrong"], ["no_gold", "no gold label"]]),
    sel("parse_status", "parse", [["", "any"], ["ok", "ok"], ["repaired", "repaired"], ["failed", "failed"]]),
    sel("disagreement", "critics", [["", "any"], ["true", "disagree"], ["false", "agree"]]),
    h("label", {}, "search ", h("input", { name: "q", value: params.get("q") || "", size: 14, onchange: (e) => update("q", e.target.value.trim()) })));
}

function verdictCell(it, l) {
  const v = it.verdicts[l];
  if (!v) return "—";
  const b = it.bounds && it.bounds[l];
  return [badge(v), v === "incorrect" && it.first_errors[l] !== null ? ` step ${stepNo(it.first_errors[l])}` : "",
    v === "incorrect" && it.first_errors[l] === null && b !== undefined && b !== null ? ` ≤ step ${stepNo(b)}` : "",
    it.parse_status[l] && it.parse_status[l] !== "ok" ? h("span", { class: "muted" }, ` (${it.parse_status[l]})`) : "",
    " ", markBadge(it.right[l])];
}

async function itemList(run, params, into, summary) {
  const q = filterQuery(params);
  const limit = 50, offset = Number(params.get("offset") || 0);
  q.set("limit", limit); q.set("offset", offset);
  const page = await getJSON(`/runs/${enc(run)}/items?${q}`);
  const labels = [...new Set(page.items.flatMap((it) => it.critics.filter((l) => !l.includes("#"))))];
  const carry = filterQuery(params).toString();
  const itemHref = (id) => `#/runs/${enc(run)}/items/${enc(id)}${carry ? "?" + qs(carry) : ""}`;
  const rows = page.items.map((it) => h("tr", { class: "link", "data-item": it.item_id, onclick: () => { location.hash = itemHref(it.item_id); } },
    h("td", { "data-label": "item", class: "wrap" }, h("a", { href: itemHref(it.item_id) }, it.item_id)),
    h("td", { "data-label": "question", class: "wrap q" }, it.question.length > 140 ? it.question.slice(0, 140) + "…" : it.question),
    h("td", { "data-label": "gold" }, it.gold ? it.gold.text : "—"),
    ...labels.map((l) => h("td", { "data-label": l }, verdictCell(it, l))),
    h("td", { "data-label": "disagree" }, it.disagreement ? "yes" : "no")));
  const sort = params.get("sort") || "";
  const sortHead = (label, key) => {
    const active = sort.replace(/^-/, "") === key;
    const next = active && !sort.startsWith("-") ? "-" + key : key;
    const p = new URLSearchParams(params); p.set("sort", next); p.delete("offset");
    return h("th", { class: "sortable", "data-sort": key, "aria-sort": active ? (sort.startsWith("-") ? "descending" : "ascending") : "none" },
      h("a", { href: `#/runs/${enc(run)}?${p}` }, label));  // the arrow comes from aria-sort (style.css)
  };
  const own = summary.critic;
  const pager = h("div", { class: "pager" }, h("span", { class: "muted", id: "count" }, `${page.total} item(s)`),
    offset > 0 ? h("button", { onclick: () => move(-limit) }, "← previous") : "",
    offset + limit < page.total ? h("button", { onclick: () => move(limit) }, "next →") : "");
  function move(delta) { const p = new URLSearchParams(params); p.set("offset", Math.max(0, offset + delta)); location.hash = `#/runs/${enc(run)}?${p}`; }
  into.replaceChildren(filters(run, params, page.critics), pager, h("table", { id: "itemlist", class: "cardable" },
    h("thead", {}, h("tr", {}, sortHead("item", "item"), h("th", {}, "question"), sortHead("gold", "gold"),
      ...labels.map((l) => l === own ? sortHead(l, "verdict") : h("th", {}, l)), sortHead("disagree", "disagreement"))),
    h("tbody", {}, rows)),
    page.items.length ? h("p", { class: "muted small" }, "sort: ", sortLink(run, params, "first error", "first_error"), " · ", sortLink(run, params, "right/wrong vs gold", "right")) : "");
}

function sortLink(run, params, label, key) {
  const sort = params.get("sort") || "";
  const p = new URLSearchParams(params); p.set("sort", sort === key ? "-" + key : key); p.delete("offset");
  return h("a", { href: `#/runs/${enc(run)}?${p}`, "data-sort": key }, label);
}

// ---- compare page ----------------------------------------------------------------------------------------------

async function comparePage(params) {
  const names = (params.get("runs") || "").split(",").filter(Boolean);
  setCrumbs([{ label: "runs", href: "#/" }, { label: "compare " + names.join(" · ") }]);
  const q = new URLSearchParams();
  names.forEach((n) => q.append("runs", n));
  for (const k of ["disagreement", "verdict", "outcome", "q", "offset"]) if (params.get(k)) q.set(k, params.get(k));
  const c = await getJSON(`/comparison?${q}`);
  const update = (name, value) => {
    const p = new URLSearchParams(params);
    if (value) p.set(name, value); else p.delete(name);
    p.delete("offset");
    location.hash = `#/compare?${qs(p)}`;
  };
  const sel = (name, label, options) => h("label", {}, label + " ", h("select", { name, onchange: (e) => update(name, e.target.value) },
    options.map(([v, t]) => h("option", { value: v, selected: (params.get(name) || "") === v }, t))));
  const short = (r) => `${r.name} (${r.critic || "?"})`;
  const summary = h("p", { class: "muted wrap", id: "shared" },
    `${c.shared} shared item(s), matched by id and content` + (c.changed ? ` · ${c.changed} with the same id but other content (left out)` : "") +
    ` · ${c.disagreements} where the runs disagree · ` + c.runs.map((r) => `${r.name}: ${r.items} items, ${r.only_here} not shared`).join(" · "));
  const matrix = h("table", { id: "agreement", class: "matrix" },
    h("thead", {}, h("tr", {}, h("th", {}, "verdict agreement"), c.runs.map((r) => h("th", {}, r.name)))),
    h("tbody", {}, c.runs.map((r, i) => h("tr", {}, h("th", {}, short(r)), c.agreement[i].map((a, j) =>
      h("td", { "data-agree": i === j ? "" : (a.share ?? ""), class: i === j ? "diag" : "" }, i === j ? "—" :
        [h("strong", {}, pct(a.share)), h("span", { class: "muted" }, ` of ${a.n}`),
          a.first_error_n ? h("div", { class: "muted small" }, `same first error: ${a.first_error_agree}/${a.first_error_n}`) : ""]))))));
  const kinds = c.runs.map((r) => r.gold).filter((g) => g.kind);
  const nameMap = kinds.length ? kinds[0].names : {};
  const metrics = kinds.length ? h("table", { id: "compare-metrics" },
    h("thead", {}, h("tr", {}, h("th", {}, "against gold (shared items)"), c.runs.map((r) => h("th", {}, r.name)))),
    h("tbody", {},
      Object.entries(nameMap).filter(([k]) => c.runs.some((r) => r.gold.figures[k] !== undefined && r.gold.figures[k] !== null)).map(([k, n]) =>
        h("tr", { "data-metric": k }, h("th", {}, n), c.runs.map((r) => h("td", {}, ratio(r.gold.figures[k]), h("span", { class: "ci" }, ci(r.gold.figures[k + "_ci"])))))),
      h("tr", { "data-metric": "right" }, h("th", {}, "right / labelled"), c.runs.map((r) => h("td", {}, `${r.gold.right} / ${r.gold.labelled}`))))) :
    h("p", { class: "muted", id: "compare-metrics" }, "The shared items carry no gold label: no figures against gold.");
  const offset = Number(params.get("offset") || 0), limit = 50;
  const carry = new URLSearchParams(); carry.set("also", names.slice(1).join(","));
  const rows = c.items.map((it) => h("tr", { class: "link", "data-item": it.item_id,
    onclick: () => { location.hash = `#/runs/${enc(names[0])}/items/${enc(it.item_id)}?${qs(carry)}`; } },
    h("td", { "data-label": "item", class: "wrap" }, h("a", { href: `#/runs/${enc(names[0])}/items/${enc(it.item_id)}?${qs(carry)}` }, it.item_id)),
    h("td", { "data-label": "question", class: "wrap q" }, it.question.length > 120 ? it.question.slice(0, 120) + "…" : it.question),
    h("td", { "data-label": "gold" }, it.gold ? it.gold.text : "—"),
    c.runs.map((r, i) => h("td", { "data-label": r.name, "data-run": r.name }, badge(it.verdicts[i]),
      it.verdicts[i] === "incorrect" && it.first_errors[i] !== null ? ` step ${stepNo(it.first_errors[i])}` : "",
      it.verdicts[i] === "incorrect" && it.first_errors[i] === null && it.bounds[i] !== null ? ` ≤ step ${stepNo(it.bounds[i])}` : "",
      " ", markBadge(it.right[i]))),
    h("td", { "data-label": "disagree" }, it.disagreement ? "yes" : "no")));
  function move(delta) { const p = new URLSearchParams(params); p.set("offset", Math.max(0, offset + delta)); location.hash = `#/compare?${qs(p)}`; }
  view.replaceChildren(h("h1", {}, "Compare ", names.join(" · ")), summary,
    h("h2", {}, "Agreement"), matrix, h("h2", {}, "Against gold"), metrics,
    h("h2", {}, "Items"),
    h("div", { class: "filters" },
      sel("disagreement", "runs", [["", "any"], ["true", "disagree"], ["false", "agree"]]),
      sel("verdict", "some run says", [["", "any"], ["correct", "correct"], ["incorrect", "incorrect"], ["unscored", "unscored"]]),
      sel("outcome", "vs gold", [["", "any"], ["all_right", "all right"], ["some_wrong", "some wrong"], ["all_wrong", "all wrong"]]),
      h("label", {}, "search ", h("input", { name: "q", value: params.get("q") || "", size: 14, onchange: (e) => update("q", e.target.value.trim()) }))),
    h("div", { class: "pager" }, h("span", { class: "muted", id: "count" }, `${c.total} item(s)`),
      offset > 0 ? h("button", { onclick: () => move(-limit) }, "← previous") : "",
      offset + limit < c.total ? h("button", { onclick: () => move(limit) }, "next →") : ""),
    h("table", { id: "compare-items", class: "cardable" }, h("thead", {}, h("tr", {}, h("th", {}, "item"), h("th", {}, "question"), h("th", {}, "gold"),
      c.runs.map((r) => h("th", {}, short(r))), h("th", {}, "disagree"))), h("tbody", {}, rows)));
}

// ---- item page -------------------------------------------------------------------------------------------------

function findingsOf(c) {
  const f = (c.metadata && c.metadata.findings) || [];
  return Array.isArray(f) ? f.filter((x) => x && typeof x === "object") : [];
}

function boundOf(c) {
  const b = c.metadata && c.metadata.error_at_or_before;
  return Number.isInteger(b) ? b : null;
}

function roundsOf(obj) {
  // A refinement trajectory (critica.loops.revise.Trajectory) kept in metadata, or a bare list of rounds.
  const m = (obj && obj.metadata) || {};
  for (const key of ["trajectory", "rounds", "refinement"]) {
    const t = m[key];
    if (Array.isArray(t) && t.length) return { rounds: t };
    if (t && Array.isArray(t.rounds) && t.rounds.length) return t;
  }
  return null;
}

function contentText(content) {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((p) => (p && typeof p.text === "string") ? p.text : `[${(p && p.type) || "part"}]`).join("\n");
  return JSON.stringify(content);
}

// The prompt sent and every call's exchange, as kept in metadata.transcript (critica.backends.transcript).
function transcriptView(c) {
  const calls = (c.metadata && Array.isArray(c.metadata.transcript)) ? c.metadata.transcript : [];
  if (!calls.length) {
    if (!c.model) return "";
    return h("p", { class: "muted small" }, "No transcript kept for this critique (stored before transcripts were kept); the raw output is below.");
  }
  const real = calls.filter((x) => !("dropped" in x));
  const dropped = calls.find((x) => "dropped" in x);
  return h("details", { class: "transcript", "data-calls": real.length },
    h("summary", {}, `prompt & transcript (${real.length} call${real.length === 1 ? "" : "s"})`),
    real.map((call, i) => h("div", { class: "call" },
      h("div", { class: "muted small" }, `call ${i + 1}` + (call.model ? ` · ${call.model}` : "") + (call.sample ? ` · sample ${call.sample}` : "") +
(call.structured ? " · structured output" : "") +
        (call.sampling && Object.keys(call.sampling).length ? " · " + Object.entries(call.sampling).map(([k, v]) => `${k}=${v}`).join(" ") : "")),
      call.messages ? call.messages.map((m) => h("div", { class: "msg role-" + m.role, "data-role": m.role }, h("span", { class: "role" }, m.role), h("pre", {}, contentText(m.content))))
        : h("p", { class: "muted small" }, `same messages as call ${call.messages_as_call + 1}`),
      (call.reasoning || []).map((r) => h("div", { class: "msg role-reasoning", "data-role": "reasoning" }, h("span", { class: "role" }, "reasoning"), h("pre", {}, r))),
      (call.outputs || []).map((o, k) => h("div", { class: "msg role-assistant reply", "data-role": "reply" },
        h("span", { class: "role" }, (call.outputs.length > 1 ? `reply ${k + 1}` : "reply")), h("pre", {}, o))))),
    dropped ? h("p", { class: "muted small" }, `${dropped.dropped} more call(s) not kept`) : "");
}

function firstErrorText(c) {
  if (c.first_error_step !== null && c.first_error_step !== undefined) return "step " + stepNo(c.first_error_step);
  const b = boundOf(c);
  if (b !== null) return `at or before step ${stepNo(b)}`;
  if (c.verdict === "incorrect") return "wrong, no step named";
  return c.verdict === "correct" ? "none (judged correct)" : "—";
}

function critiqueCard(c, run, label, right) {
  const b = boundOf(c);
  const dl = h("dl", {},
    h("dt", {}, "verdict"), h("dd", {}, badge(c.verdict), " ", markBadge(right)),
    h("dt", {}, "first error"), h("dd", { "data-first-error": c.first_error_step ?? "", "data-bound": b ?? "" }, firstErrorText(c)),
    c.score ? [h("dt", {}, "score"), h("dd", {}, `${c.score.value} on [${c.score.min}, ${c.score.max}]`)] : [],
    h("dt", {}, "parse"), h("dd", {}, c.parse_status + (c.parse_error ? ` — ${c.parse_error}` : "")),
    c.confidence !== null && c.confidence !== undefined ? [h("dt", {}, "confidence"), h("dd", {}, c.confidence.toFixed(2))] : [],
    h("dt", {}, "model"), h("dd", {}, c.model || "— (tool)"),
    h("dt", {}, "run"), h("dd", {}, run),
    h("dt", {}, "latency"), h("dd", {}, `${(c.latency_s || 0).toFixed(2)}s · ${c.usage.prompt_tokens}+${c.usage.completion_tokens} tok`));
  const steps = (c.steps || []).filter((s) => s.verdict !== "correct");
  return h("article", { class: "critique" + (right === false ? " is-wrong" : right === true ? " is-right" : ""), "data-critic": c.critic },
    h("h3", {}, label),
    dl,
    c.error ? h("p", { class: "error" }, "error: " + c.error) : "",
    c.explanation ? h("div", { class: "expl" }, c.explanation) : "",
    c.suggested_fix ? h("div", {}, h("strong", {}, "suggested fix: "), c.suggested_fix) : "",
    steps.length ? h("ul", {}, steps.map((s) => h("li", {}, `step ${stepNo(s.index)}: `, badge(s.verdict), " ", s.explanation))) : "",
    transcriptView(c),
    c.raw_outputs && c.raw_outputs.length ? h("details", {}, h("summary", {}, "raw output"), ...c.raw_outputs.map((r) => h("pre", {}, r))) : "");
}

function roundsView(t) {
  const summary = t.stop_reason ? h("p", { class: "muted" }, `stopped: ${t.stop_reason} · final answer from round ${t.final_round ?? "?"}` +
    (t.guard_applied ? " (regression guard kept an earlier, better-scored answer)" : "") + (t.generator ? ` · reviser ${t.generator}` : "")) : "";
  return h("div", { class: "trajectory" }, summary, h("div", { class: "rounds", id: "rounds" }, t.rounds.map((r, i) => {
    const crit = r.critique || {};
    const verdict = r.verdict || crit.verdict;
    const n = r.index ?? r.round ?? i;
    return h("div", { class: "round" + (n === t.final_round ? " final" : ""), "data-round": n },
      h("h3", {}, n === 0 ? "round 0 (initial answer)" : `round ${n}`), verdict ? badge(verdict) : "",
      crit.first_error_step !== undefined && crit.first_error_step !== null ? h("span", {}, ` first error step ${stepNo(crit.first_error_step)}`) : "",
      crit.score ? h("span", {}, ` score ${crit.score.value}`) : "",
      h("pre", {}, r.answer || r.response || ""),
      crit.explanation ? h("div", { class: "expl" }, crit.explanation) : "",
      r.revision_error ? h("p", { class: "error" }, "revision: " + r.revision_error) : "");
  })));
}

// An item's images: data URLs are shown; a remote URL is a link, never loaded (the page would call a third party).
function imagesView(images, part) {
  const mine = (images || []).map((im, i) => [im, i + 1]).filter(([im]) => (im.part || "question") === part);
  if (!mine.length) return "";
  return h("div", { class: "images", "data-part": part }, mine.map(([im, k]) => h("figure", { class: "image", "data-image": k },
    im.url.startsWith("data:image/") ? h("img", { src: im.url, alt: im.caption || `image ${k}`, loading: "lazy" })
      : h("a", { href: im.url, rel: "noopener noreferrer nofollow", target: "_blank" }, im.url),
    h("figcaption", {}, `image ${k}${im.caption ? " — " + im.caption : ""}${im.source ? " (" + im.source + ")" : ""}`))));
}

// The item's inputs as the critics saw them (question, reference, gold). Kept in one function so that more input
// kinds (images …) slot in here.
function itemInputs(item, gold) {
  return [
    h("h2", {}, "Question"), h("div", { class: "question", id: "question" }, item.question), imagesView(item.images, "question"),
    item.reference_answer ? [h("h2", {}, "Reference answer"), h("div", { class: "reference" }, item.reference_answer)] : "",
    gold ? [h("h2", {}, "Gold label"), h("div", { class: "gold-box", id: "gold" }, gold.text, h("span", { class: "muted" }, ` (item field '${gold.field}')`))] : "",
  ].flat();
}

function stepsView(d, all) {
  const own = d.critiques[0];
  const ownBound = own ? boundOf(own) : null;
  const gold = d.gold && d.gold.kind === "step" ? d.gold : null;
  return h("ol", { class: "steps", id: "steps" }, d.steps.map((text, i) => {
    const flags = [];
    for (const [label, c] of all) {
      if (c.first_error_step === i) flags.push(h("span", { class: "badge v-incorrect", "data-flag": label }, `first error · ${label}`));
      const b = boundOf(c);
      if (b === i && c.first_error_step === null) flags.push(h("span", { class: "badge bound", "data-bound": label }, `first error at or before this step · ${label}`));
      for (const s of c.steps || []) if (s.index === i && s.verdict === "incorrect" && c.first_error_step !== i) flags.push(h("span", { class: "badge v-incorrect" }, `wrong · ${label}`));
    }
    if (gold && gold.verdict === "incorrect" && gold.first_error_step === i) flags.unshift(h("span", { class: "badge gold-step", "data-gold-step": "" }, "gold: first error"));
    const findings = all.flatMap(([label, c]) => findingsOf(c).filter((f) => f.step === i).map((f) =>
      h("div", { class: "finding " + (f.verdict || ""), "data-finding": f.kind || "" }, `[${f.kind || "check"}] ${f.verdict || ""} — ${f.message || ""} (${label})`)));
    const cls = [own && own.first_error_step === i ? "first-error" : "", flags.length ? "flagged" : "",
      own && own.first_error_step !== null && i > own.first_error_step ? "after-error" : "",
      own && own.first_error_step === null && ownBound !== null && i <= ownBound ? "in-bound" : "",
      gold && gold.first_error_step === i ? "gold-error" : ""].filter(Boolean).join(" ");
    return h("li", { class: cls, "data-step": i }, h("span", { class: "stepno" }, `step ${i + 1}`),
      h("span", { class: "steptext" }, text), flags.length || findings.length ? h("div", { class: "flags" }, flags, findings) : "");
  }));
}

async function itemPage(run, itemId, params) {
  setCrumbs([{ label: "runs", href: "#/" }, { label: run, href: "#/runs/" + enc(run) + (filterQuery(params).toString() ? "?" + filterQuery(params) : "") }, { label: itemId }]);
  const q = filterQuery(params);
  if (params.get("also")) q.set("also", params.get("also"));
  const d = await getJSON(`/runs/${enc(run)}/items/${enc(itemId)}?${q}`);
  const all = [];
  d.critiques.forEach((c, i) => {
    const runName = d.critique_runs[i];
    const base = i === 0 ? c.critic : `${c.critic} (${runName})`;
    all.push([base, c, runName, d.right[i]]);
    (c.samples || []).forEach((s, k) => all.push([`${base} #${k + 1}`, s, runName, (d.samples_right[i] || [])[k]]));
  });
  const item = d.item || { question: "(item not stored)", metadata: {} };
  const wholeFindings = all.flatMap(([label, c]) => findingsOf(c).filter((f) => f.step === null || f.step === undefined)
    .map((f) => h("div", { class: "finding " + (f.verdict || "") }, `[${f.kind || "check"}] whole response: ${f.verdict || ""} — ${f.message || ""} (${label})`)));
  const trajectories = [roundsOf(item), ...d.critiques.map(roundsOf)].filter(Boolean);
  const carry = new URLSearchParams(q); carry.delete("also");
  if (params.get("also")) carry.set("also", params.get("also"));
  const link = (id, text, rel) => id === null || id === undefined ? h("span", { class: "muted", "data-nav": rel }, text) :
    h("a", { href: `#/runs/${enc(run)}/items/${enc(id)}${carry.toString() ? "?" + qs(carry) : ""}`, "data-nav": rel, rel }, text);
  const nav = h("nav", { class: "itemnav", id: "itemnav" }, link(d.prev, "← previous", "prev"),
    h("span", { class: "muted" }, d.position ? ` ${d.position} of ${d.total} ` : " "), link(d.next, "next →", "next"));
  view.replaceChildren(...[
    nav,
    h("h1", { class: "wrap" }, itemId, d.disagreement ? h("span", { class: "badge v-unscored", id: "disagree" }, "critics disagree") : ""),
    itemInputs(item, d.gold),
    h("h2", {}, `Response, ${d.steps.length} step(s)`), imagesView(item.images, "response"), stepsView(d, all), wholeFindings,
    h("h2", {}, `Critiques (${all.length})`), h("div", { class: "critiques", id: "critiques" }, all.map(([label, c, r, right]) => critiqueCard(c, r, label, right))),
    trajectories.length ? [h("h2", {}, "Refinement"), ...trajectories.map(roundsView)] : ""].flat());
}

// ---- router ----------------------------------------------------------------------------------------------------

async function route() {
  banner.hidden = true;
  delete document.body.dataset.ready;
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, query] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query || "");
  try {
    if (parts[0] === "runs" && parts.length >= 4 && parts[2] === "items") await itemPage(parts[1], parts.slice(3).join("/"), params);
    else if (parts[0] === "compare") await comparePage(params);
    else if (parts[0] === "runs" && parts.length === 2) await runPage(parts[1], params);
    else await runsPage();
  } catch (err) { showError(err); }
  document.body.dataset.ready = raw;  // lets tests wait for a page to finish rendering
}
window.addEventListener("hashchange", route);
route();
