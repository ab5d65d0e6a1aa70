// The Lab's Latent view: what G has learned. Seeded samples (click to select, drag or
// press A/B/C to put in a group), a slerp morph between two picks streamed as a job
// and looped, vector arithmetic on three groups, a projected picture as a pick, and,
// for class-conditional models, a class picker and InfoGAN's continuous-code sliders.
// Every pick carries its z: the server never keeps state between requests.
import { EVENTS, LIMITS } from "./protocol.js";
import { $, bitmapFromBytes, toast } from "./ui.js";

const THUMB = 72;

function thumb(bitmap, title) {
  const c = document.createElement("canvas");
  c.width = c.height = THUMB;
  c.title = title;
  const ctx = c.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(bitmap, 0, 0, THUMB, THUMB);
  return c;
}

function draw(canvas, bitmap) {
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
}

export class LatentView {
  /** app: {job, socket, stopJob}; models: /api/models. */
  constructor(app, models) {
    this.app = app;
    this.models = models;
    this.items = [];          // {z, bitmap, label, model, el} shown: this model's kept picks and samples
    this.kept = [];           // completions and projected pictures, of every model
    this.selected = [];       // up to two items, in the order picked
    this.groups = { a: [], b: [], c: [] };
    this.frames = [];         // the morph's bitmaps, looped once it is done
    this.answers = [];        // times of `generate` answers, for the frame rate of the sliders
    const picker = $("latent-model");
    for (const m of models) picker.append(new Option(m.title, m.name));
    picker.addEventListener("change", () => this.newSamples());
    $("latent-samples").addEventListener("click", () => this.newSamples());
    $("latent-morph").addEventListener("click", () => this.morph());
    $("latent-compute").addEventListener("click", () => this.compute());
    $("latent-stop").addEventListener("click", () => app.stopJob("cancelled by the user"));
    $("latent-project").addEventListener("change", (e) => e.target.files[0] && this.project(e.target.files[0]));
    $("latent-project-label").addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); $("latent-project").click(); }
    });
    for (const key of ["a", "b", "c"]) {
      const box = $(`group-${key}`);
      box.addEventListener("dragover", (e) => e.preventDefault());
      box.addEventListener("drop", (e) => { e.preventDefault(); this.addToGroup(key, this.items[Number(e.dataTransfer.getData("text/plain"))]); });
      $(`add-${key}`).addEventListener("click", () => this.addSelected(key));
    }
    $("latent-class").addEventListener("change", () => this.updateCodes());
    if (app.socket.connected) this.newSamples();   // else the page asks once it is connected
  }

  get model() { return this.models.find((m) => m.name === $("latent-model").value); }

  async request(event, payload) {
    const answer = await this.app.socket.request(event, payload);
    if (answer?.error) { toast(answer.error.message); return null; }
    return answer;
  }

  /** A new grid of samples from the seed field (N). A newer request wins over an older
   *  one still on its way, and a model switch clears what belonged to the old model. */
  async newSamples() {
    this.started = true;
    const model = this.model;
    const seed = parseInt($("latent-seed").value || "0", 10);
    const request = (this.request_id = (this.request_id ?? 0) + 1);
    const answer = await this.request(EVENTS.SAMPLES, { model: model.name, seed, count: 16 });
    if (!answer || request !== this.request_id) return;
    const images = new Uint8Array(answer.images);
    const fresh = [];
    let offset = 0;
    for (const [i, s] of answer.samples.entries()) {
      const png = images.subarray(offset, offset + answer.sizes[i]);
      offset += answer.sizes[i];
      fresh.push(await this.#item(s.z, png, "sample", `seed ${seed} · #${i}`, model.name));
    }
    if (request !== this.request_id) return;
    if (this.shown !== model.name) this.#clearOutputs();
    this.shown = model.name;
    this.samples = fresh;
    this.#layout();
    this.selected = [];
    this.groups = { a: [], b: [], c: [] };
    for (const key of ["a", "b", "c"]) $(`group-${key}`).querySelector(".members").replaceChildren();
    this.pool = { seed, count: 16 };
    this.#showCodes();
    this.loads = (this.loads ?? 0) + 1;     // grids shown so far (tests wait on it)
    this.#status(`Samples of seed ${seed}: click two to morph between, or put some in groups A, B and C.`);
  }

  /** Add a pick of `model` (a completion or a projected picture); kept for that model. */
  async addItem(z, imageBytes, label, title, model) {
    const item = await this.#item(z, imageBytes, label, title, model);
    this.kept.push(item);
    this.#layout();
    return item;
  }

  async #item(z, imageBytes, label, title, model) {
    const bitmap = await bitmapFromBytes(imageBytes);
    const item = { z, bitmap, label, model };
    item.el = thumb(bitmap, title);
    item.el.draggable = true;
    item.el.tabIndex = 0;
    item.el.classList.add(`latent-${label}`);
    item.el.addEventListener("dragstart", (e) => e.dataTransfer.setData("text/plain", String(this.items.indexOf(item))));
    item.el.addEventListener("click", () => this.select(item));
    item.el.addEventListener("keydown", (e) => {      // the keyboard path: Tab to a pick, Space or Enter
      if (e.key === " " || e.key === "Enter") { e.preventDefault(); e.stopPropagation(); this.select(item); }
    });
    return item;
  }

  /** The grid: this model's kept picks, then its samples. */
  #layout() {
    const name = this.model.name;
    this.items = [...this.kept.filter((it) => it.model === name), ...(this.samples ?? []).filter((it) => it.model === name)];
    $("latent-grid").replaceChildren(...this.items.map((it) => it.el));
  }

  #clearOutputs() {
    clearInterval(this.loop);
    this.frames = [];
    for (const id of ["latent-live", "latent-codes-canvas"]) $(id).getContext("2d").clearRect(0, 0, 256, 256);
    $("latent-gif").hidden = true;
    $("arithmetic-result").replaceChildren();
    $("latent-progress").value = 0;
  }

  select(item) {
    this.selected = this.selected.includes(item) ? this.selected.filter((x) => x !== item)
      : [...this.selected, item].slice(-2);
    for (const it of this.items) it.el.classList.toggle("active", this.selected.includes(it));
    this.codesTouched = false;      // show the pick as it is, its own codes on the sliders
    const { continuous, continuous_offset: offset } = this.model;
    if (continuous && this.selected.length) {
      const z = this.selected.at(-1).z;
      for (const input of $("latent-sliders").querySelectorAll("input")) input.value = z[offset + Number(input.dataset.code)];
    }
    this.updateCodes();
  }

  addSelected(key) {
    if (!this.selected.length) { toast("Click a sample first.", { error: false }); return; }
    for (const item of this.selected) this.addToGroup(key, item);
  }

  addToGroup(key, item) {
    if (!item || this.groups[key].length >= LIMITS.group) return;
    this.groups[key].push(item);
    $(`group-${key}`).querySelector(".members").append(thumb(item.bitmap, item.el.title));
  }

  /** A slerp morph between the two picks (M), streamed through the page's one job. */
  async morph() {
    const { job, socket } = this.app;
    if (this.selected.length !== 2) { toast("Pick two samples to morph between.", { error: false }); return false; }
    if (job.active) { toast("A job is already running: press Stop first.", { error: false }); return false; }
    const [a, b] = this.selected;
    clearInterval(this.loop);
    this.frames = [];
    const ticket = job.begin("morph");
    this.#status("Sending…");
    const frames = parseInt($("latent-frames").value || "16", 10);
    const ack = await socket.request(EVENTS.MORPH, { model: this.model.name, a: { z: a.z }, b: { z: b.z }, frames });
    if (!job.acknowledged(ticket, ack, (m) => this.queued(m))) {
      if (ack.job && !ack.error) socket.cancel(ack.job);
      return false;
    }
    if (ack.error) this.failed(ack.error);
    return true;
  }

  /** Project an uploaded picture onto G's latent space; the result becomes a pick. */
  async project(file) {
    const { job, socket } = this.app;
    if (job.active) { toast("A job is already running: press Stop first.", { error: false }); return; }
    const res = await fetch(`/api/prepare?model=${encodeURIComponent(this.model.name)}`, { method: "POST", body: file });
    const prepared = await res.json();
    if (!res.ok) { toast(prepared.message ?? "That picture could not be used."); return; }
    const bytes = new Uint8Array(await (await fetch(prepared.image)).arrayBuffer());
    clearInterval(this.loop);
    this.projecting = this.model.name;
    const ticket = job.begin("project");
    this.#status("Projecting your picture onto G's latent space…");
    const ack = await socket.request(EVENTS.PROJECT, { model: this.model.name, image: bytes });
    if (!job.acknowledged(ticket, ack, (m) => this.queued(m))) return;
    if (ack.error) this.failed(ack.error);
  }

  /** G(mean A - mean B + mean C), its variations and the nearest samples (Enter). */
  async compute() {
    const { a, b, c } = this.groups;
    if (!a.length || !b.length || !c.length) { toast("Put at least one sample in each of A, B and C.", { error: false }); return; }
    const answer = await this.request(EVENTS.ARITHMETIC, {
      model: this.model.name, a: a.map((i) => i.z), b: b.map((i) => i.z), c: c.map((i) => i.z),
      variations: 4, pool: this.pool });
    if (!answer) return;
    const out = $("arithmetic-result");
    out.replaceChildren(thumb(await bitmapFromBytes(answer.image), "A − B + C"));
    for (const v of answer.variations) out.append(thumb(await bitmapFromBytes(v), "with noise"));
    for (const it of this.items) it.el.classList.remove("nearest");
    for (const i of answer.nearest) this.samples[i]?.el.classList.add("nearest");
    this.arithmetic = answer;
    this.#status("A − B + C, with four noise variations; the nearest samples are outlined.");
  }

  #showCodes() {
    const model = this.model;
    $("latent-codes").hidden = !(model.num_classes || model.continuous);
    const cls = $("latent-class");
    cls.replaceChildren(new Option("as sampled", ""),
      ...Array.from({ length: model.num_classes }, (_, k) => new Option(String(k), String(k))));
    const sliders = $("latent-sliders");
    sliders.replaceChildren();
    for (let k = 0; k < (model.continuous ?? 0); k++) {
      const label = document.createElement("label");
      label.textContent = `code ${k + 1} `;
      const input = Object.assign(document.createElement("input"), { type: "range", min: -1, max: 1, step: 0.02, value: 0 });
      input.dataset.code = k;
      input.addEventListener("input", () => { this.codesTouched = true; this.updateCodes(); });
      label.append(input);
      sliders.append(label);
    }
  }

  /** G(z) of the pick with the chosen class and codes, one request in flight at a time. */
  async updateCodes() {
    const model = this.model;
    const base = this.selected.at(-1) ?? this.items.find((it) => it.model === model.name);
    if (!base || !(model.num_classes || model.continuous)) return;
    if (this.pending) { this.again = true; return; }
    this.pending = true;
    const payload = { model: model.name, z: base.z };
    if ($("latent-class").value !== "") payload.class = parseInt($("latent-class").value, 10);
    if (model.continuous && this.codesTouched) {
      payload.codes = [...$("latent-sliders").querySelectorAll("input")].map((i) => parseFloat(i.value));
    }
    const answer = await this.request(EVENTS.GENERATE, payload);
    this.pending = false;
    if (answer) {
      draw($("latent-codes-canvas"), await bitmapFromBytes(answer.image));
      this.answers.push(performance.now());
    }
    if (this.again) { this.again = false; this.updateCodes(); }
  }

  /** Answers per second of the sliders over the last second or so. */
  get fps() {
    const recent = this.answers.filter((t) => performance.now() - t < 1500);
    return recent.length < 2 ? 0 : (recent.length - 1) / ((recent.at(-1) - recent[0]) / 1000);
  }

  // -- job events, routed here by the page for morph and project jobs --------------

  queued(msg) { this.#status(msg.position > 0 ? `Queued: ${msg.position} job(s) ahead of yours.` : "Starting…"); }

  async progress(msg) {
    const ticket = this.app.job.ticket;
    this.app.job.running();
    const bitmap = await bitmapFromBytes(msg.image);
    if (!this.app.job.isCurrent(ticket)) return;
    if (this.app.job.kind === "morph") this.frames[msg.step - 1] = bitmap;   // decodes may finish out of order
    draw($("latent-live"), bitmap);
    $("latent-progress").value = msg.step / msg.steps;
    this.#status(this.app.job.kind === "morph" ? `Frame ${msg.step} / ${msg.steps}` :
      `Step ${msg.step} / ${msg.steps} · error ${msg.losses.mse.toFixed(4)}`);
  }

  async done(msg) {
    const ticket = this.app.job.ticket;
    const bitmap = await bitmapFromBytes(msg.image);
    if (!this.app.job.isCurrent(ticket)) return;
    const kind = this.app.job.kind;
    this.app.job.end("done");
    $("latent-progress").value = 1;
    if (kind === "project") {
      await this.addItem(msg.z, msg.image, "projection", "your picture, projected", this.projecting);
      this.#status(`Projected in ${msg.seconds.toFixed(1)} s: your picture is now a pick (outlined in the grid).`);
      return;
    }
    const link = $("latent-gif");
    if (link.href) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(new Blob([msg.gif], { type: "image/gif" }));
    link.hidden = false;
    let i = 0;
    const frames = this.frames.filter(Boolean);
    const loop = [...frames, ...frames.slice(1, -1).reverse()];
    clearInterval(this.loop);
    this.loop = setInterval(() => { if (loop.length) draw($("latent-live"), loop[i++ % loop.length]); }, 80);
    this.#status(`Morphed in ${msg.seconds.toFixed(1)} s (${msg.frames} frames), playing as a loop.`);
  }

  failed(err) { this.#status(err.code === "cancelled" ? `Stopped: ${err.message}.` : `Error: ${err.message}`); }

  stopped(why) { $("latent-progress").value = 0; this.#status(`Stopped: ${why}.`); }

  setStatus(text) { this.#status(text); }

  #status(text) { $("latent-status").textContent = text; }
}
