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
function stepNo(i) { return i === null || i === undefined ? "—" : String(i + 1); }  // people read 1-based steps
function pct(x) { return x === null || x === undefined ? "—" : (100 * x).toFixed(1) + "%"; }

function setCrumbs(parts) {
  crumbs.replaceChildren(...parts.flatMap((p, i) => [i ? " / " : "", p.href ? h("a", { href: p.href }, p.label) : p.label]));
}

function showError(err) {
  const hint = err.status === 401 ? " — enter an API key at the top right." : "";
  view.replaceChildren(h("p", { class: "error", role: "alert" }, `error ${err.status || ""}: ${err.message}${hint}`));
}

// ---- runs page -------------------------------------------------------------------------------------------------

async function runsPage() {
  setCrumbs([{ label: "runs" }]);
  const runs = await getJSON("/runs");
  if (!runs.length) {
    view.replaceChildren(h("h1", {}, "Runs"), h("p", { class: "muted" }, "No runs stored yet. POST /v1/critiques or run `critica critique --run NAME`."));
    return;
  }
  const rows = runs.map((r) => h("tr", { class: "link", "data-run": r.id, onclick: () => { location.hash = "#/runs/" + enc(r.id); } },
    h("td", {}, h("a", { href: "#/runs/" + enc(r.id) }, r.id)),
    h("td", {}, r.critic || "—"), h("td", {}, r.model || "—"), h("td", {}, r.source || "—"),
    h("td", {}, r.items), h("td", {}, r.verdicts.correct || 0), h("td", {}, r.verdicts.incorrect || 0),
    h("td", {}, r.verdicts.unscored || 0), h("td", {}, pct(r.scored_share)), h("td", {}, r.input_errors),
    h("td", {}, r.status), h("td", {}, r.started_at || "")));
  view.replaceChildren(h("h1", {}, "Runs"), h("table", { id: "runs" },
    h("thead", {}, h("tr", {}, ...["run", "critic", "model", "source", "items", "correct", "incorrect", "unscored", "scored", "input errors", "status", "started"].map((t) => h("th", {}, t)))),
    h("tbody", {}, rows)));
}

// ---- run page: summary figures, plots, filterable item list ----------------------------------------------------

const PLOTS = ["verdicts", "first-error", "latency", "figures"];

async function plotImg(run, kind) {
  const img = h("img", { alt: `${kind} plot of ${run}`, "data-plot": kind });
  try {
    const blob = await (await api(`/runs/${enc(run)}/plots/${kind}.png`)).blob();  // fetched so the key header is sent
    img.src = URL.createObjectURL(blob);
  } catch (e) { img.alt = `${kind}: ${e.message}`; }
  return img;
}

async function runPage(run, params) {
  setCrumbs([{ label: "runs", href: "#/" }, { label: run }]);
  const r = await getJSON(`/runs/${enc(run)}`);
  const card = (num, lbl) => h("div", { class: "card" }, h("div", { class: "num" }, num), h("div", { class: "lbl" }, lbl));
  const figures = h("div", { class: "cards", id: "figures" },
    card(r.items, "critiques"), card(r.verdicts.correct || 0, "correct"), card(r.verdicts.incorrect || 0, "incorrect"),
    card(r.verdicts.unscored || 0, "unscored"), card(pct(r.scored_share), "scored"), card(r.input_errors, "input errors"));
  const meta = h("p", { class: "muted" }, `critic ${r.critic || "—"} · model ${r.model || "—"} · source ${r.source || "—"} · ${r.status}` +
    (r.peers.length ? ` · compared with ${r.peers.join(", ")}` : ""));
  const plots = h("div", { class: "plots" });
  const list = h("div", { id: "items" });
  view.replaceChildren(h("h1", {}, run), meta, figures, h("h2", {}, "Items"), filters(run, params, r), list, h("h2", {}, "Plots"), plots);
  Promise.all(PLOTS.map((k) => plotImg(run, k))).then((imgs) => plots.replaceChildren(...imgs));
  await itemList(run, params, list);
}

function filters(run, params, summary) {
  const sel = (name, options) => h("label", {}, name.replace("_", " ") + " ",
    h("select", { name, onchange: (e) => update(name, e.target.value) },
      ...options.map(([v, t]) => h("option", { value: v, selected: (params.get(name) || "") === v }, t))));
  const update = (name, value) => {
    const p = new URLSearchParams(params);
    if (value) p.set(name, value); else p.delete(name);
    p.delete("offset");
    location.hash = `#/runs/${enc(run)}?${p}`;
  };
  return h("div", { class: "filters" },
    sel("verdict", [["", "any"], ["correct", "correct"], ["incorrect", "incorrect"], ["unscored", "unscored"]]),
    sel("parse_status", [["", "any"], ["ok", "ok"], ["repaired", "repaired"], ["failed", "failed"]]),
    sel("disagreement", [["", "any"], ["true", "critics disagree"], ["false", "critics agree"]]),
    h("label", {}, "critic ", h("input", { name: "critic", value: params.get("critic") || "", placeholder: summary.critic || "critic",
      size: 14, onchange: (e) => update("critic", e.target.value.trim()) })),
    h("label", {}, "search ", h("input", { name: "q", value: params.get("q") || "", size: 16, onchange: (e) => update("q", e.target.value.trim()) })));
}

async function itemList(run, params, into) {
  const q = new URLSearchParams(params);
  const limit = 50, offset = Number(q.get("offset") || 0);
  q.set("limit", limit);
  const page = await getJSON(`/runs/${enc(run)}/items?${q}`);
  const labels = [...new Set(page.items.flatMap((it) => it.critics))];
  const rows = page.items.map((it) => h("tr", { class: "link", "data-item": it.item_id, onclick: () => { location.hash = `#/runs/${enc(run)}/items/${enc(it.item_id)}`; } },
    h("td", {}, h("a", { href: `#/runs/${enc(run)}/items/${enc(it.item_id)}` }, it.item_id)),
    h("td", {}, it.question.length > 140 ? it.question.slice(0, 140) + "…" : it.question),
    ...labels.map((l) => h("td", {}, it.verdicts[l] ? [badge(it.verdicts[l]), it.verdicts[l] === "incorrect" ? ` step ${stepNo(it.first_errors[l])}` : "",
      it.parse_status[l] && it.parse_status[l] !== "ok" ? h("span", { class: "muted" }, ` (${it.parse_status[l]})`) : ""] : "—")),
    h("td", {}, it.disagreement ? "yes" : "")));
  const pager = h("div", { class: "pager" }, h("span", { class: "muted", id: "count" }, `${page.total} item(s)`),
    offset > 0 ? h("button", { onclick: () => move(-limit) }, "← previous") : "",
    offset + limit < page.total ? h("button", { onclick: () => move(limit) }, "next →") : "");
  function move(delta) { const p = new URLSearchParams(params); p.set("offset", Math.max(0, offset + delta)); location.hash = `#/runs/${enc(run)}?${p}`; }
  into.replaceChildren(pager, h("table", { id: "itemlist" },
    h("thead", {}, h("tr", {}, h("th", {}, "item"), h("th", {}, "question"), ...labels.map((l) => h("th", {}, l)), h("th", {}, "disagree"))),
    h("tbody", {}, rows)));
}

// ---- item page -------------------------------------------------------------------------------------------------

function findingsOf(c) {
  const f = (c.metadata && c.metadata.findings) || [];
  return Array.isArray(f) ? f.filter((x) => x && typeof x === "object") : [];
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

function critiqueCard(c, run, label) {
  const dl = h("dl", {},
    h("dt", {}, "verdict"), h("dd", {}, badge(c.verdict)),
    h("dt", {}, "first error"), h("dd", { "data-first-error": c.first_error_step ?? "" }, c.first_error_step === null ? "none flagged" : "step " + stepNo(c.first_error_step)),
    c.score ? [h("dt", {}, "score"), h("dd", {}, `${c.score.value} on [${c.score.min}, ${c.score.max}]`)] : [],
    h("dt", {}, "parse"), h("dd", {}, c.parse_status + (c.parse_error ? ` — ${c.parse_error}` : "")),
    c.confidence !== null && c.confidence !== undefined ? [h("dt", {}, "confidence"), h("dd", {}, c.confidence.toFixed(2))] : [],
    h("dt", {}, "model"), h("dd", {}, c.model || "— (tool)"),
    h("dt", {}, "run"), h("dd", {}, run),
    h("dt", {}, "latency"), h("dd", {}, `${(c.latency_s || 0).toFixed(2)}s · ${c.usage.prompt_tokens}+${c.usage.completion_tokens} tok`));
  const steps = (c.steps || []).filter((s) => s.verdict !== "correct");
  return h("article", { class: "critique", "data-critic": c.critic },
    h("h3", {}, label),
    dl,
    c.error ? h("p", { class: "error" }, "error: " + c.error) : "",
    c.explanation ? h("div", { class: "expl" }, c.explanation) : "",
    c.suggested_fix ? h("div", {}, h("strong", {}, "suggested fix: "), c.suggested_fix) : "",
    steps.length ? h("ul", {}, steps.map((s) => h("li", {}, `step ${stepNo(s.index)}: `, badge(s.verdict), " ", s.explanation))) : "",
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

async function itemPage(run, itemId) {
  setCrumbs([{ label: "runs", href: "#/" }, { label: run, href: "#/runs/" + enc(run) }, { label: itemId }]);
  const d = await getJSON(`/runs/${enc(run)}/items/${enc(itemId)}`);
  const own = d.critiques[0];
  const all = [];
  d.critiques.forEach((c, i) => {
    const runName = d.critique_runs[i];
    const base = i === 0 ? c.critic : `${c.critic} (${runName})`;
    all.push([base, c, runName]);
    (c.samples || []).forEach((s, k) => all.push([`${base} #${k + 1}`, s, runName]));
  });
  const item = d.item || { question: "(item not stored)", metadata: {} };
  const stepsList = h("ol", { class: "steps", id: "steps" }, d.steps.map((text, i) => {
    const flags = [];
    for (const [label, c] of all) {
      if (c.first_error_step === i) flags.push(h("span", { class: "badge v-incorrect", "data-flag": label }, `first error · ${label}`));
      for (const s of c.steps || []) if (s.index === i && s.verdict === "incorrect" && c.first_error_step !== i) flags.push(h("span", { class: "badge v-incorrect" }, `wrong · ${label}`));
    }
    const findings = all.flatMap(([label, c]) => findingsOf(c).filter((f) => f.step === i).map((f) =>
      h("div", { class: "finding " + (f.verdict || ""), "data-finding": f.kind || "" }, `[${f.kind || "check"}] ${f.verdict || ""} — ${f.message || ""} (${label})`)));
    const cls = [own && own.first_error_step === i ? "first-error" : "", flags.length ? "flagged" : "",
      own && own.first_error_step !== null && i > own.first_error_step ? "after-error" : ""].filter(Boolean).join(" ");
    return h("li", { class: cls, "data-step": i }, h("span", { class: "stepno" }, `step ${i + 1}`),
      h("span", { class: "steptext" }, text), flags.length || findings.length ? h("div", { class: "flags" }, flags, findings) : "");
  }));
  const wholeFindings = all.flatMap(([label, c]) => findingsOf(c).filter((f) => f.step === null || f.step === undefined)
    .map((f) => h("div", { class: "finding " + (f.verdict || "") }, `[${f.kind || "check"}] whole response: ${f.verdict || ""} — ${f.message || ""} (${label})`)));
  const trajectories = [roundsOf(item), ...d.critiques.map(roundsOf)].filter(Boolean);
  view.replaceChildren(...[
    h("h1", {}, itemId, d.disagreement ? h("span", { class: "badge v-unscored", id: "disagree" }, "critics disagree") : ""),
    h("h2", {}, "Question"), h("div", { class: "question", id: "question" }, item.question), imagesView(item.images, "question"),
    item.reference_answer ? [h("h2", {}, "Reference answer"), h("div", { class: "reference" }, item.reference_answer)] : "",
    h("h2", {}, `Response, ${d.steps.length} step(s)`), imagesView(item.images, "response"), stepsList, wholeFindings,
    h("h2", {}, `Critiques (${all.length})`), h("div", { class: "critiques", id: "critiques" }, all.map(([label, c, r]) => critiqueCard(c, r, label))),
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
    if (parts[0] === "runs" && parts.length >= 4 && parts[2] === "items") await itemPage(parts[1], parts.slice(3).join("/"));
    else if (parts[0] === "runs" && parts.length === 2) await runPage(parts[1], params);
    else await runsPage();
  } catch (err) { showError(err); }
  document.body.dataset.ready = raw;  // lets tests wait for a page to finish rendering
}
window.addEventListener("hashchange", route);
route();
