// The Lab's views, Dream and Style: each is a form, image pickers, a live canvas and a
// loss chart, run through the page's one job (job.js) like a completion. A view is
// one entry of VIEWS below: its job kind, the losses it plots and how it builds its
// request from its form.
import { LossChart } from "./chart.js";
import { DREAM_LOSS_KEYS, EVENTS, LIMITS, STYLE_LOSS_KEYS, STYLE_PARAM_KEYS } from "./protocol.js";
import { $, bitmapFromBytes, setStatus, toast } from "./ui.js";

const UPLOAD_BYTES = 100 * 1024;
const COLORS = ["#e4572e", "#2e86ab", "#76b041", "#9b5de5", "#f3a712"];
const series = (keys) => keys.map((key, i) => ({ key, label: key, color: COLORS[i % COLORS.length] }));

/** An image picker: a sample of any model, or an uploaded picture (shrunk here to the Lab's size). */
class ImagePicker {
  constructor(root, models) {
    this.select = root.querySelector("select");
    this.file = root.querySelector("input[type=file]");
    this.preview = root.querySelector("canvas");
    this.upload = null;     // {bytes, bitmap} of the last upload
    for (const m of models) {
      for (const s of m.samples) {
        const opt = new Option(`${m.title} · ${s.id}`, JSON.stringify({ model: m.name, sample: s.id }));
        this.select.append(opt);
      }
    }
    this.select.addEventListener("change", () => this.show());
    this.file.addEventListener("change", () => this.file.files[0] && this.load(this.file.files[0]));
  }

  /** The protocol's source object: {model, sample} or {image: bytes}. */
  get source() {
    return this.select.value === "upload" ? { image: this.upload.bytes } : JSON.parse(this.select.value);
  }

  async load(file) {
    try {
      const bitmap = await createImageBitmap(file);
      const long = Math.max(bitmap.width, bitmap.height), short = Math.min(bitmap.width, bitmap.height);
      if (long > LIMITS.lab_aspect * short || short < LIMITS.lab_min_side) {
        throw new Error(`the Lab takes pictures at least ${LIMITS.lab_min_side} px a side and at most ` +
                        `${LIMITS.lab_aspect}:1`);
      }
      const scale = Math.min(1, LIMITS.lab_side / long);
      const c = document.createElement("canvas");
      c.width = Math.max(1, Math.round(bitmap.width * scale));
      c.height = Math.max(1, Math.round(bitmap.height * scale));
      c.getContext("2d").drawImage(bitmap, 0, 0, c.width, c.height);
      // the socket takes 256 KiB per message and a style job sends two pictures: keep each small
      let blob = await new Promise((r) => c.toBlob(r, "image/png"));
      for (let q = 0.9; blob.size > UPLOAD_BYTES && q > 0.3; q -= 0.15) {
        blob = await new Promise((r) => c.toBlob(r, "image/jpeg", q));
      }
      if (blob.size > UPLOAD_BYTES) throw new Error("it is too detailed to send; try a smaller picture");
      this.upload = { bytes: new Uint8Array(await blob.arrayBuffer()), bitmap: await createImageBitmap(c) };
      if (!this.select.querySelector("option[value=upload]")) this.select.append(new Option("your picture", "upload"));
      this.select.value = "upload";
      this.show();
    } catch (err) {
      toast(`That file could not be read as an image (${err.message}).`);
    }
  }

  async show() {
    let bitmap = this.upload?.bitmap;
    if (this.select.value !== "upload") {
      const { model, sample } = JSON.parse(this.select.value);
      bitmap = await createImageBitmap(await (await fetch(`/api/models/${model}/samples/${sample}.png`)).blob());
    }
    const ctx = this.preview.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.clearRect(0, 0, this.preview.width, this.preview.height);
    const s = Math.min(this.preview.width / bitmap.width, this.preview.height / bitmap.height);
    ctx.drawImage(bitmap, 0, 0, bitmap.width * s, bitmap.height * s);
  }
}

/** A field of a view's form: its inputs are named KIND-KEY (dream-steps), apart from the completion's. */
const field = (view, key) => view.form.elements[`${view.kind}-${key}`];
const num = (view, key) => {
  const v = field(view, key).value.trim();
  return v === "" ? undefined : Number(v);
};

/** The payload of each view from its form and pickers. */
const VIEWS = {
  dream: {
    event: EVENTS.DREAM,
    losses: DREAM_LOSS_KEYS,
    yTitle: "mean activation (rises)",
    pickers: ["source"],
    payload(view) {
      const channels = field(view, "channels").value.split(",").map((c) => c.trim()).filter(Boolean).map(Number);
      const params = { channels, steps: num(view, "steps"), step_size: num(view, "step_size"),
        octaves: num(view, "octaves"), octave_scale: num(view, "octave_scale"), seed: num(view, "seed") };
      return { features: field(view, "features").value, layer: field(view, "layer").value,
        source: view.pickers.source.source,
        params: Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined)) };
    },
  },
  style: {
    event: EVENTS.STYLE,
    losses: STYLE_LOSS_KEYS,
    yTitle: "loss",
    pickers: ["content", "style"],
    payload(view) {
      const params = {};
      for (const key of STYLE_PARAM_KEYS) {
        const v = num(view, key);
        if (v !== undefined) params[key] = v;
      }
      return { features: field(view, "features").value, content: view.pickers.content.source,
        style: view.pickers.style.source, params };
    },
  },
};

export class LabView {
  /** kind: "dream" or "style"; app: {job, socket, stopJob(why)}; models: /api/models with their samples. */
  constructor(kind, app, models, features) {
    this.kind = kind;
    this.spec = VIEWS[kind];
    this.app = app;
    this.root = $(`${kind}-view`);
    this.form = this.root.querySelector("form");
    this.live = this.root.querySelector(".lab-live");
    this.status = this.root.querySelector(".lab-status");
    this.progressBar = this.root.querySelector("progress");
    this.download = this.root.querySelector(".lab-download");
    this.features = features;
    this.chart = new LossChart(this.root.querySelector(".lab-chart"), series(this.spec.losses), this.spec.yTitle);
    this.pickers = Object.fromEntries(this.spec.pickers.map(
      (name) => [name, new ImagePicker(this.root.querySelector(`[data-picker=${name}]`), models)]));
    const featureSelect = field(this, "features");
    for (const f of features) featureSelect.append(new Option(f.title, f.name));
    featureSelect.addEventListener("change", () => this.#showLayers());
    this.#showLayers();
    this.form.addEventListener("submit", (e) => { e.preventDefault(); this.start(); });
    this.root.querySelector(".lab-stop").addEventListener("click", () => app.stopJob("cancelled by the user"));
    for (const picker of Object.values(this.pickers)) picker.show();
  }

  #showLayers() {
    const layer = field(this, "layer");
    if (!layer) return;
    const f = this.features.find((x) => x.name === field(this, "features").value);
    layer.replaceChildren(...f.layers.map((l) => new Option(`${l.name} · ${l.shape[2]} channels`, l.name)));
    layer.value = f.layers[Math.min(1, f.layers.length - 1)].name;
  }

  setStatus(text) { this.status.textContent = text; }

  async start() {
    const { job, socket } = this.app;
    if (job.active) { toast("A job is already running: press Stop first.", { error: false }); return false; }
    if (!socket.connected) { toast("Not connected to the server."); return false; }
    let payload;
    try {
      payload = this.spec.payload(this);
    } catch (err) {
      toast(`Pick the images first (${err.message}).`);
      return false;
    }
    const ticket = job.begin(this.kind);
    this.chart.reset(1);
    this.progressBar.value = 0;
    this.setStatus("Sending…");
    const ack = await socket.request(this.spec.event, payload);
    if (!job.acknowledged(ticket, ack, (m) => this.queued(m))) {
      if (ack.job && !ack.error) socket.cancel(ack.job);
      return false;
    }
    if (ack.error) this.failed(ack.error);
    return true;
  }

  queued(msg) {
    this.setStatus(msg.position > 0 ? `Queued: ${msg.position} job(s) ahead of yours.` : "Starting…");
  }

  async progress(msg) {
    const ticket = this.app.job.ticket;
    this.app.job.running();
    const bitmap = await bitmapFromBytes(msg.image);
    if (!this.app.job.isCurrent(ticket)) return;
    this.#draw(bitmap);
    if (msg.step === 0) this.chart.reset(msg.steps);
    else this.chart.add(msg.step, msg.losses);
    this.progressBar.value = msg.step / msg.steps;
    const main = this.spec.losses.includes("total") ? "total" : this.spec.losses[0];
    this.setStatus(`Step ${msg.step} / ${msg.steps} · ${main} ${msg.losses[main].toFixed(4)}`);
  }

  async done(msg) {
    const ticket = this.app.job.ticket;
    const bitmap = await bitmapFromBytes(msg.image);
    if (!this.app.job.isCurrent(ticket)) return;
    this.app.job.end("done");
    this.#draw(bitmap);
    if (msg.steps > 0) this.chart.add(msg.steps, msg.losses);
    this.progressBar.value = 1;
    this.setStatus(`Done in ${msg.seconds.toFixed(1)} s (${msg.steps} steps).`);
    if (this.download.href) URL.revokeObjectURL(this.download.href);
    this.download.href = URL.createObjectURL(new Blob([msg.image], { type: "image/png" }));
    this.download.hidden = false;
  }

  failed(err) { this.setStatus(err.code === "cancelled" ? `Stopped: ${err.message}.` : `Error: ${err.message}`); }

  stopped(why) { this.progressBar.value = 0; this.setStatus(`Stopped: ${why}.`); }

  #draw(bitmap) {
    const c = this.live;
    const s = Math.min(c.width / bitmap.width, c.height / bitmap.height);
    const ctx = c.getContext("2d");
    ctx.imageSmoothingEnabled = bitmap.width >= 128;
    ctx.clearRect(0, 0, c.width, c.height);
    ctx.drawImage(bitmap, (c.width - bitmap.width * s) / 2, (c.height - bitmap.height * s) / 2,
      bitmap.width * s, bitmap.height * s);
  }
}
