// fauxto studio: the gallery, a face's page, look-alike search, verify, generate and jobs,
// over the JSON API of the same server. Plain JavaScript, no dependencies; routed by the URL's hash.
"use strict";

const main = () => document.getElementById("main");
const KEY_STORE = "fauxto-api-key";

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

function say(text) {
  document.getElementById("status").textContent = text;
}

function headers(extra = {}) {
  const key = localStorage.getItem(KEY_STORE);
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

// A JSON call; errors carry the API's message.
async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: headers(options.headers) });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(body.message || `${response.status} ${response.statusText}`);
  }
  return body;
}

// An image the API serves, as an object URL (so that the key goes with the request).
async function imageBlob(url) {
  const response = await fetch(url, { headers: headers() });
  if (!response.ok) throw new Error(`image: ${response.status}`);
  return response.blob();
}

function faceImage(face, size, alt) {
  const img = el("img", { alt, width: size, height: size });
  const link = face.images.find((i) => i.size <= size) || face.images[face.images.length - 1];
  imageBlob(link.url).then((b) => (img.src = URL.createObjectURL(b))).catch((e) => say(e.message));
  return img;
}

function describe(face) {
  return `${Math.round(face.age)}-year-old ${face.gender}, ${face.expression}, facing ${face.facing}`;
}

function faceCard(face, extra) {
  return el("li", { class: "card" },
    el("a", { href: `#/face/${face.id}`, "aria-label": `Face ${face.id}: ${describe(face)}` },
      faceImage(face, 128, describe(face)),
      el("span", { class: "caption" }, `${Math.round(face.age)} · ${face.gender} · ${face.expression}`),
      extra ? el("span", { class: "caption" }, extra) : null));
}

// ---- gallery -------------------------------------------------------------------------

const FILTERS = {
  gender: ["", "female", "male"],
  expression: ["", "neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised"],
  facing: ["", "left", "frontal", "right"],
  sort: ["newest", "random", "diverse"],
};

function select(name, values, current) {
  return el("select", { id: `f-${name}`, name },
    values.map((v) => el("option", { value: v, selected: v === (current || "") }, v || "any")));
}

async function gallery(params) {
  const form = el("form", { class: "filters", "aria-label": "Filters" },
    el("fieldset", {},
      el("legend", {}, "Age"),
      el("label", { for: "f-age-min" }, "from"),
      el("input", { id: "f-age-min", name: "age_min", type: "number", min: 0, max: 120, value: params.get("age_min") || "" }),
      el("label", { for: "f-age-max" }, "to"),
      el("input", { id: "f-age-max", name: "age_max", type: "number", min: 0, max: 120, value: params.get("age_max") || "" })),
    ...["gender", "expression", "facing", "sort"].map((name) =>
      el("div", { class: "field" }, el("label", { for: `f-${name}` }, name[0].toUpperCase() + name.slice(1)),
        select(name, FILTERS[name], params.get(name)))),
    el("button", { type: "submit" }, "Search"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) next.set(k, v);
    if (next.get("sort") === "newest") next.delete("sort");
    location.hash = `#/?${next}`;
  });
  const grid = el("ul", { class: "grid", "aria-label": "Faces" });
  const pager = el("nav", { class: "pager", "aria-label": "Pages of results" });
  main().replaceChildren(el("h1", {}, "Faces"), form, el("p", { id: "count" }), grid, pager);

  const query = new URLSearchParams();
  for (const k of ["gender", "expression", "facing", "sort"]) if (params.get(k)) query.set(k, params.get(k));
  const lo = params.get("age_min"), hi = params.get("age_max");
  if (lo || hi) query.set("age", `${lo || 0}-${hi || 200}`);
  if (params.get("sort") === "random") query.set("seed", params.get("seed") || "1");
  const page = Number(params.get("page") || 1);
  query.set("page", page);
  query.set("per_page", 24);
  const result = await api(`/api/faces?${query}`);
  const pages = Math.max(1, Math.ceil(result.total / result.per_page));
  document.getElementById("count").textContent =
    `${result.total.toLocaleString()} faces · page ${page} of ${pages}`;
  grid.replaceChildren(...result.faces.map((f) => faceCard(f)));
  const to = (p) => { const q = new URLSearchParams(params); q.set("page", p); return `#/?${q}`; };
  pager.replaceChildren(
    page > 1 ? el("a", { href: to(page - 1), rel: "prev" }, "← Previous") : el("span"),
    page < pages ? el("a", { href: to(page + 1), rel: "next" }, "Next →") : el("span"));
}

// ---- one face ------------------------------------------------------------------------

function table(rows) {
  return el("table", {}, el("tbody", {}, rows.map(([k, v]) => el("tr", {}, el("th", { scope: "row" }, k), el("td", {}, v)))));
}

async function download(face, size) {
  const blob = await imageBlob(`/api/faces/${face.id}/image?size=${size}&download=true`);
  const a = el("a", { href: URL.createObjectURL(blob), download: `fauxto-face-${face.id}-${size}.png` });
  document.body.append(a);
  a.click();
  a.remove();
  say(`Downloaded face ${face.id} at ${size} px, with its Content Credential.`);
}

async function facePage(id) {
  const detail = await api(`/api/faces/${id}`);
  const f = detail.face, m = detail.model, c = detail.credential;
  const pct = (p) => `${Math.round(p * 100)}%`;
  const expressions = Object.entries(f.expressions).sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${pct(v)}`).join(", ");
  main().replaceChildren(
    el("h1", {}, `Face ${f.id}`),
    el("div", { class: "face" },
      el("figure", {}, faceImage(f, 256, describe(f)), el("figcaption", {}, describe(f))),
      el("section", { "aria-labelledby": "attrs" },
        el("h2", { id: "attrs" }, "Attributes"),
        table([
          ["Age", `${f.age.toFixed(1)} years (${f.age_band})`],
          ["Gender", `${f.gender} (${pct(f.gender_probability)})`],
          ["Expression", expressions],
          ["Head", `facing ${f.facing} (yaw ${f.yaw.toFixed(0)}°, pitch ${f.pitch.toFixed(0)}°, roll ${f.roll.toFixed(0)}°)`],
          ["Detection", f.detection_score.toFixed(2)],
        ]),
        el("h2", {}, "Download"),
        el("div", { class: "downloads" }, f.images.map((i) =>
          el("button", { type: "button", onclick: () => download(f, i.size).catch((e) => say(e.message)) }, `PNG ${i.size}×${i.size}`))),
        el("p", {}, el("a", { href: `#/similar/${f.id}` }, "Find look-alikes"))),
      el("section", { class: "provenance", "aria-labelledby": "prov" },
        el("h2", { id: "prov" }, "Provenance"),
        table([
          ["Content Credential", `${c.present ? c.state : "none"}${c.tampered ? ", TAMPERED" : ""}`],
          ["Source type", (c.digital_source_type || "").split("/").pop() || "—"],
          ["Signed by", c.signer || "—"],
          ["Watermark", f.watermark || "—"],
          ["Model", m ? `${m.name} (${m.sha256.slice(0, 16)}…)` : f.model_sha256],
          ["Seed", `${f.seed} (truncation ${f.truncation})`],
          ["Training data", m && m.training_data_root ? m.training_data_root : "not recorded"],
          ["Licence", m ? m.license : "—"],
        ]),
        m ? el("details", {}, el("summary", {}, "Model card"), el("pre", {}, m.card)) : null)));
}

// ---- look-alikes ---------------------------------------------------------------------

function resultsGrid(found) {
  return el("ul", { class: "grid", "aria-label": "Look-alikes" },
    found.faces.map((n) => faceCard(n.face, `distance ${n.distance.toFixed(3)}`)));
}

function dropZone(label, onFile) {
  const input = el("input", { id: "upload", type: "file", accept: "image/*" });
  input.addEventListener("change", () => input.files[0] && onFile(input.files[0]));
  const zone = el("div", { class: "drop" }, el("label", { for: "upload" }, label), input);
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    if (e.dataTransfer.files[0]) onFile(e.dataTransfer.files[0]);
  });
  return zone;
}

async function similarPage(id) {
  const out = el("div", { id: "results" });
  main().replaceChildren(el("h1", {}, "Look-alikes"),
    dropZone("Choose or drop a photo of a face", async (file) => {
      say("Looking for the face…");
      try {
        out.replaceChildren(resultsGrid(await api("/api/similar?limit=12", { method: "POST", body: file })));
        say(`Faces most like ${file.name}.`);
      } catch (e) { say(e.message); }
    }), out);
  if (id) {
    out.replaceChildren(el("p", {}, `Faces most like face ${id}:`),
      resultsGrid(await api(`/api/faces/${id}/similar?limit=12`)));
  }
}

// ---- verify --------------------------------------------------------------------------

async function verifyPage() {
  const out = el("div", { id: "report" });
  main().replaceChildren(el("h1", {}, "Verify an image"),
    el("p", {}, "Drop any image: its Content Credential and fauxto watermark, if it has them, say where it came from; the GAN detector looks at its pixels."),
    dropZone("Choose or drop an image", async (file) => {
      say("Verifying…");
      try {
        const r = await api("/api/verify", { method: "POST", body: file });
        const c = r.credential, g = c.generation || {};
        out.replaceChildren(table([
          ["File", file.name],
          ["Content Credential", c.present ? `${c.state}${c.tampered ? ", TAMPERED" : ""}` : "none"],
          ["Source type", (c.digital_source_type || "—").split("/").pop()],
          ["Signed by", c.signer || "—"],
          ["Model", g.model_name ? `${g.model_name} (${g.model_sha256})` : "—"],
          ["Training data", g.training_data_root || "—"],
          ["Licence", g.training_data_license || "—"],
          ["Watermark", r.watermark ? `${r.watermark} (z = ${r.watermark_score.toFixed(1)})` : `not found (z = ${r.watermark_score.toFixed(1)})`],
          ["Seed (from the watermark)", r.watermark_payload && r.watermark_payload.seed !== undefined ? String(r.watermark_payload.seed) : "—"],
          ["Watermark fits credential", r.watermark_matches_credential === null ? "—" : r.watermark_matches_credential ? "yes" : "NO"],
          ["GAN detector", !r.detector ? "—" : r.detector.generated
            ? `probably generated (${r.detector.probability.toFixed(2)})`
            : `no sign of generation (${r.detector.probability.toFixed(2)}; not proof of a photograph)`],
        ]));
        say(`Verified ${file.name}.`);
      } catch (e) { say(e.message); }
    }), out);
}

// ---- generate ------------------------------------------------------------------------

// A seed list like `1-8,42` as numbers (the API takes up to 16 per batch).
function parseSeeds(text) {
  const seeds = [];
  for (const part of text.split(",").map((p) => p.trim()).filter(Boolean)) {
    const m = part.match(/^(\d+)(?:\s*-\s*(\d+))?$/);
    if (!m) throw new Error(`"${part}" is not a seed or a range like 1-8`);
    const lo = Number(m[1]), hi = Number(m[2] ?? m[1]);
    if (hi < lo) throw new Error(`range ${part} runs backwards`);
    for (let s = lo; s <= hi && seeds.length <= 16; s++) seeds.push(s);
  }
  if (!seeds.length) throw new Error("give at least one seed");
  if (seeds.length > 16) throw new Error("at most 16 seeds at a time");
  return seeds;
}

function truncationField(id, value) {
  const input = el("input", { id, name: "truncation", type: "range", min: 0, max: 1, step: 0.05, value });
  const shown = el("output", { for: id }, Number(value).toFixed(2));
  input.addEventListener("input", () => (shown.textContent = Number(input.value).toFixed(2)));
  return el("div", { class: "field" }, el("label", { for: id }, "Truncation ψ"), el("div", { class: "range" }, input, shown));
}

function pngOf(base64) {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return URL.createObjectURL(new Blob([bytes], { type: "image/png" }));
}

async function generatePage() {
  const out = el("div", { id: "generated" });
  const form = el("form", { class: "filters", "aria-label": "Generate" },
    el("div", { class: "field" }, el("label", { for: "g-seeds" }, "Seeds (up to 16)"),
      el("input", { id: "g-seeds", name: "seeds", value: "1-8", required: true })),
    truncationField("g-truncation", 0.7),
    el("button", { type: "submit" }, "Generate"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const seeds = parseSeeds(form.seeds.value);
      say(`Generating ${seeds.length} image${seeds.length > 1 ? "s" : ""}…`);
      const r = await api("/api/generate", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ seeds, truncation: Number(form.truncation.value) }),
      });
      out.replaceChildren(
        el("ul", { class: "grid", "aria-label": "Generated images" }, r.images.map((i) => {
          const url = pngOf(i.png_base64), name = `fauxto-${r.model_sha256.slice(0, 12)}-seed${i.seed}.png`;
          return el("li", { class: "card" },
            el("img", { src: url, alt: `Generated face, seed ${i.seed}`, width: 128, height: 128 }),
            el("span", { class: "caption" }, `seed ${i.seed} · ψ ${i.truncation}`),
            el("span", { class: "caption" }, `watermark ${i.watermark || "—"}`),
            el("a", { href: url, download: name }, "Download PNG"));
        })),
        ...(r.withheld.length ? [el("p", {}, `Withheld by the memorisation guard (a training face): seeds ${r.withheld.map((w) => w.seed).join(", ")}`)] : []));
      say(`Generated ${r.images.length} labelled image${r.images.length === 1 ? "" : "s"}.`);
    } catch (e) { say(e.message); }
  });
  main().replaceChildren(el("h1", {}, "Generate"),
    el("p", {}, "Labelled images of seeds, made now: each carries a Content Credential and a watermark. Needs a key with the generate scope."),
    form, out);
}

// ---- jobs ----------------------------------------------------------------------------

let following = new AbortController();

// Reads a server-sent event stream with fetch (so that the key goes with it), calling
// onEvent(name, data) for each event until the stream ends or `signal` aborts.
async function followEvents(url, signal, onEvent) {
  const response = await fetch(url, { headers: headers(), signal });
  if (!response.ok) throw new Error(`events: ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).trim();
      }
      if (data) onEvent(name, data);
    }
  }
}

function jobRow(job) {
  const c = job.counts;
  const dropped = c.no_face + c.several_faces + c.weak_detection + c.memorised + c.near_duplicate;
  const label = `Job ${job.id}: ${job.done_seeds} of ${job.total_seeds} seeds`;
  return el("li", { class: `job ${job.state}`, id: `job-${job.id}`, "data-state": job.state },
    el("div", { class: "job-head" },
      el("strong", {}, `#${job.id}`), ` seeds ${job.seeds} · ψ ${job.truncation} · `,
      el("span", { class: "state" }, job.running && job.state !== "done" ? `${job.state}, running` : job.state),
      job.state === "open" ? el("button", { type: "button", class: "quiet", "aria-label": `Cancel job ${job.id}`,
        onclick: () => cancelJob(job.id) }, "Cancel") : null),
    el("progress", { max: job.total_seeds, value: job.done_seeds, "aria-label": label }),
    el("span", { class: "caption" },
      `${job.done_seeds.toLocaleString()} / ${job.total_seeds.toLocaleString()} seeds · ${c.added} added · ${dropped} dropped (no or weak face, duplicate, guard) · ${c.already_there} already there`),
    job.error ? el("p", { class: "error" }, job.error) : null);
}

async function cancelJob(id) {
  try {
    const job = await api(`/api/jobs/${id}`, { method: "DELETE" });
    document.getElementById(`job-${id}`)?.replaceWith(jobRow(job));
    say(`Job ${id} cancelled: the seeds in flight finish, no more start.`);
  } catch (e) { say(e.message); }
}

function follow(job) {
  if (job.state !== "open" && !job.running) return;
  followEvents(`/api/jobs/${job.id}/events`, following.signal, (name, data) => {
    if (name !== "progress" && name !== "end") return;
    const view = JSON.parse(data);
    document.getElementById(`job-${view.id}`)?.replaceWith(jobRow(view));
    if (name === "end") say(`Job ${view.id} ${view.state}: ${view.counts.added} faces added.`);
  }).catch((e) => { if (e.name !== "AbortError") say(e.message); });
}

async function jobsPage() {
  const list = el("ul", { class: "jobs", "aria-label": "Jobs" });
  const form = el("form", { class: "filters", "aria-label": "Start a job" },
    el("div", { class: "field" }, el("label", { for: "j-seeds" }, "Seeds"),
      el("input", { id: "j-seeds", name: "seeds", value: "0-99", required: true })),
    truncationField("j-truncation", 1),
    el("button", { type: "submit" }, "Start job"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const job = await api("/api/jobs", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ seeds: form.seeds.value, truncation: Number(form.truncation.value) }),
      });
      document.getElementById(`job-${job.id}`)?.remove();
      list.prepend(jobRow(job));
      follow(job);
      say(`Job ${job.id} started.`);
    } catch (e) { say(e.message); }
  });
  const { jobs } = await api("/api/jobs");
  list.replaceChildren(...jobs.map(jobRow));
  main().replaceChildren(el("h1", {}, "Jobs"),
    el("p", {}, "Add the faces of a seed list to the library: each is generated, checked by the face networks and the memorisation guard, labelled and catalogued. Jobs go on after a restart. Starting one needs an admin key."),
    form, list);
  jobs.forEach(follow);
}

// ---- API reference -------------------------------------------------------------------

async function docsPage() {
  const doc = await (await fetch("/api/openapi.json")).json();
  const sections = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => el("section", { class: "op" },
      el("h2", {}, el("code", {}, `${method.toUpperCase()} ${path}`)),
      el("p", {}, op.summary || ""), op.description ? el("p", {}, op.description) : null,
      (op.parameters || []).length ? table(op.parameters.map((p) =>
        [`${p.name}${p.required ? "" : "?"}`, p.description || ""])) : null,
      el("p", { class: "responses" }, "Responses: ", Object.keys(op.responses).join(", ")))));
  main().replaceChildren(el("h1", {}, doc.info.title), el("p", {}, doc.info.description), ...sections);
}

// ---- routing -------------------------------------------------------------------------

async function route() {
  const [path, search] = location.hash.replace(/^#/, "").split("?");
  const params = new URLSearchParams(search || "");
  const parts = (path || "/").split("/").filter(Boolean);
  say("");
  following.abort();
  following = new AbortController();
  try {
    if (parts[0] === "face") await facePage(Number(parts[1]));
    else if (parts[0] === "similar") await similarPage(parts[1]);
    else if (parts[0] === "verify") await verifyPage();
    else if (parts[0] === "generate") await generatePage();
    else if (parts[0] === "jobs") await jobsPage();
    else await gallery(params);
  } catch (e) {
    main().replaceChildren(el("p", { class: "error" }, e.message));
  }
}

document.addEventListener("DOMContentLoaded", () => {
  if (document.body.dataset.page === "docs") {
    docsPage().catch((e) => say(e.message));
    return;
  }
  const keyInput = document.getElementById("api-key");
  keyInput.value = localStorage.getItem(KEY_STORE) || "";
  document.getElementById("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const key = keyInput.value.trim();
    if (key) localStorage.setItem(KEY_STORE, key); else localStorage.removeItem(KEY_STORE);
    route();
  });
  window.addEventListener("hashchange", route);
  route();
});
