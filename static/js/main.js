// The page: wires the mask editor, the image source, the socket and the chart together.
// Every view update of a job goes through `app.job` (job.js): the page only shows
// events of the job the server acknowledged to it, and nothing once that job ended.
import { drawPixelated, MaskEditor } from "./canvas.js";
import { LossChart } from "./chart.js";
import { Job } from "./job.js";
import { LabView } from "./lab.js";
import { LatentView } from "./latent.js";
import { ERROR_CODES } from "./protocol.js";
import { Presenter } from "./presenter.js";
import { connect } from "./socket.js";
import { Source } from "./source.js";
import { $, bitmapFromBytes, pasteBack, readParams, setBeforeAfter, setStatus, showResults, toast } from "./ui.js";
import { Viewport } from "./viewport.js";

const app = {};

app.job = new Job((state) => {
  const active = app.job.active;
  $("complete").disabled = active;
  $("stop").disabled = !active;
  document.body.classList.toggle("running", active);
});
Object.defineProperty(app, "running", { get: () => app.job.active });

app.editor = new MaskEditor($("mask-canvas"), (ed) => {
  $("hole-share").textContent = ed.ready ? `hole: ${(ed.holeShare * 100).toFixed(0)}% of the image` : "";
});
// Changing the image, its source or the model while a job runs stops that job: the
// result would belong to an image no longer on screen, and the user asked for the new one.
app.source = new Source(app.editor, () => {
  // only a completion belongs to the editor's image: a Lab job goes on
  const stopped = app.job.active && app.job.kind === "complete" && stopJob("you picked another image");
  $("results").hidden = true;
  drawPixelated($("live-canvas"), app.editor.image);
  setStatus(`${stopped ? "Stopped: you picked another image. " : ""}` +
            "Paint the part to regenerate, or pick a preset, then press Complete.");
});
app.chart = new LossChart($("loss-chart"));
app.viewport = new Viewport(document.querySelector(".canvas-wrap"), $("mask-canvas"));
app.presenter = new Presenter(app);

/** Start a completion, unless one is already on its way (button, Enter and auto demo alike). */
app.complete = async () => {
  if (app.job.active) { toast("A completion is already running: press Stop first.", { error: false }); return false; }
  if (!app.editor.ready || !app.source.current) return toast("Pick an image first.");
  if (app.source.loading) return toast("The picked image is still loading: press Complete once it shows.", { error: false });
  if (!app.editor.holeCount) return toast("Paint a hole first, or pick a preset.");
  if (app.editor.holeCount === app.editor.size ** 2) return toast("Keep part of the image: the whole image is masked.");
  if (!app.socket.connected) return toast("Not connected to the server.");
  const ticket = app.job.begin();          // from here on a second press is refused
  const params = readParams();
  app.subject = { source: app.source.current, model: app.source.model, editor: app.editor.snapshot() };
  app.chart.reset(params.steps ?? 1, params.lambda ?? 0);
  $("progress").value = 0;
  setStatus("Sending…");
  const payload = {
    model: app.subject.model.name, ...app.source.imageField(), mask: await app.editor.maskPNG(), params,
  };
  if (!app.job.isCurrent(ticket)) return false;     // stopped while the mask was encoded
  const ack = await app.socket.complete(payload);
  if (!app.job.acknowledged(ticket, ack, showQueued)) {
    if (ack.job && !ack.error) app.socket.cancel(ack.job);   // stopped before the answer came: cancel it there too
    return false;
  }
  if (ack.error) showError(ack.error);
  return true;
};

/** End the active job here and ask the server to cancel it; false if none was active. */
/** Thumbnails of the result and its distinct runners-up; a click makes one the result. */
async function showAlternatives(msg, latest) {
  const options = [{ image: msg.image, loss: msg.losses.total }, ...(msg.alternatives ?? [])];
  const box = $("alternatives");
  box.replaceChildren();
  $("alternatives-wrap").hidden = options.length < 2;
  for (const [i, option] of options.entries()) {
    const bitmap = await bitmapFromBytes(option.image);
    if (!latest()) return;
    const c = document.createElement("canvas");
    c.width = c.height = 96;
    c.title = `loss ${option.loss.toFixed(3)}${i === 0 ? " (the best)" : ""}`;
    c.dataset.alternative = i;
    c.classList.toggle("active", i === 0);
    drawPixelated(c, bitmap);
    c.addEventListener("click", async () => {
      if (app.job.active) return;             // a new job owns the view now
      app.result.bitmap = bitmap;
      app.result.msg = { ...app.result.best, image: option.image };
      drawPixelated($("live-canvas"), bitmap);
      await redrawResults();
      for (const other of box.children) other.classList.toggle("active", other === c);
    });
    box.append(c);
  }
}

/** Draws every result panel of app.result and then counts the drawing in app.result.draws
 * (the browser tests wait for the count), unless a newer result took its place meanwhile. */
async function redrawResults() {
  const result = app.result;
  await showResults(result.subject.editor, result.msg, pastedResult());
  if (app.result === result) result.draws++;
}

/** The last result pasted back into the uploaded photo (with grain if asked), or null for a sample. */
function pastedResult() {
  const { bitmap, subject: { source, editor } } = app.result;
  return source.kind === "upload"
    ? pasteBack(source.photo, source.box, bitmap, editor.hole, editor.size, source.inverted, $("grain").checked)
    : null;
}

function stopJob(why) {
  const id = app.job.id;
  if (!app.job.end("cancelled")) return false;
  if (id) app.socket.cancel(id);
  else app.socket.cancel();                 // not acknowledged yet: the server cancels this client's job
  const lab = labOf();
  if (lab) { lab.stopped(why); return true; }
  $("progress").value = 0;
  setStatus(`Stopped: ${why}.`);
  app.presenter.jobEnded();
  return true;
}
app.stopJob = stopJob;
app.lab = {};     // kind -> LabView, once the models and feature networks are listed

/** Show one view: inpaint, dream or style. A running job keeps running; its own view shows it. */
function showView(name) {
  document.body.dataset.view = name;
  for (const b of document.querySelectorAll("[data-view]")) b.classList.toggle("active", b.dataset.view === name);
  for (const v of VIEW_ORDER) $(`${v}-view`).hidden = v !== name;
}
app.showView = showView;
const VIEW_ORDER = ["inpaint", "dream", "style", "latent"];

/** One round of the auto demo in a Lab view: the next picture or pair, then its job. */
app.demoRound = async (view, round) => {
  if (view === "latent") {
    $("latent-seed").value = String(round);
    await app.latent.newSamples();
    app.latent.select(app.latent.samples[0]);
    app.latent.select(app.latent.samples[1 + (round % 15)]);
    return app.latent.morph();
  }
  const select = document.querySelector(`#${view}-view [data-picker=${view === "dream" ? "source" : "content"}] select`);
  select.selectedIndex = (select.selectedIndex + 1) % select.options.length;
  select.dispatchEvent(new Event("change"));
  return app.lab[view].start();
};

async function loadLab() {
  const models = await (await fetch("/api/models")).json();
  app.latent = new LatentView(app, models);
  for (const m of models) m.samples = await (await fetch(`/api/models/${m.name}/samples`)).json();
  const features = await (await fetch("/api/features")).json();
  for (const kind of ["dream", "style"]) app.lab[kind] = new LabView(kind, app, models, features);
}

/** The Lab view that owns the current job's events, or null for a completion. */
const labOf = () => (["morph", "project"].includes(app.job.kind) ? app.latent : app.lab[app.job.kind]) ?? null;

function showQueued(msg) {
  setStatus(msg.position > 0 ? `Queued: ${msg.position} job(s) ahead of yours.` : "Starting…");
}

function showError(err) {
  const stopped = err.code === ERROR_CODES.CANCELLED;
  setStatus(stopped ? `Stopped: ${err.message}.` : `Error: ${err.message}`);
  if (!stopped) toast(err.message);
  app.presenter.jobEnded();
}

app.socket = connect({
  connect: () => {
    $("connection").textContent = "connected";
    $("connection").className = "pill ok";
    if (app.latent && !app.latent.started) app.latent.newSamples();
  },
  disconnect: (why) => {
    $("connection").textContent = "offline";
    $("connection").className = "pill bad";
    if (app.job.end("error")) {
      (labOf()?.setStatus.bind(labOf()) ?? setStatus)("Lost the connection to the server.");
      toast(`Lost the connection to the server (${why}).`);
    }
  },
  queued: (msg) => app.job.route(msg, (m) => {
    if (app.job.state === "queued") (labOf() ? labOf().queued(m) : showQueued(m));
  }),
  progress: (msg) => app.job.route(msg, async (m) => {
    if (labOf()) return labOf().progress(m);
    const ticket = app.job.ticket;
    app.job.running();
    const bitmap = await bitmapFromBytes(m.image);
    if (!app.job.isCurrent(ticket)) return;           // stopped or replaced while decoding
    drawPixelated($("live-canvas"), bitmap);
    app.chart.add(m.step, m.losses);
    $("progress").value = m.step / m.steps;
    setStatus(m.step === 0 && app.subject.model?.encoder
      ? "The encoder's guess · refining…"
      : `Step ${m.step} / ${m.steps} · loss ${m.losses.total.toFixed(3)}`);
  }),
  done: (msg) => app.job.route(msg, async (m) => {
    if (labOf()) { await labOf().done(m); app.presenter.jobEnded(); return; }
    const ticket = app.job.ticket;
    const result = await bitmapFromBytes(m.image);
    if (!app.job.isCurrent(ticket)) return;
    app.job.end("done");
    $("progress").value = 1;
    app.chart.add(m.steps, m.losses);   // the last chunk ends the run unreported: close the lines at its step
    setStatus(`Done in ${m.seconds.toFixed(1)} s.`);
    drawPixelated($("live-canvas"), result);
    app.result = { bitmap: result, subject: app.subject, msg: m, best: m, ticket, draws: 0 };
    if (app.latent && m.z) {       // a pick for morphs and arithmetic, under its model
      app.latent.addItem(m.z, m.image, "completion", "a completion", app.subject.model.name);
    }
    // a new job may start while these draw: each step checks that this one is still the latest
    const latest = () => app.job.ticket === ticket;
    await redrawResults();
    if (latest()) await showAlternatives(m, latest);
    if (latest()) app.presenter.jobEnded();
  }),
  error: (msg) => {
    if (!msg.job) { toast(msg.message); return; }   // about no job in particular (a malformed packet)
    app.job.route(msg, (m) => {
      app.job.end(m.code === ERROR_CODES.CANCELLED ? "cancelled" : "error", m);
      if (labOf()) {
        labOf().failed(m);
        if (m.code !== ERROR_CODES.CANCELLED) toast(m.message);
        app.presenter.jobEnded();
        return;
      }
      showError(m);
    });
  },
});

$("complete").addEventListener("click", () => app.complete());
for (const btn of document.querySelectorAll("[data-view]")) btn.addEventListener("click", () => showView(btn.dataset.view));
$("stop").addEventListener("click", () => { app.presenter.toggleDemo(false); stopJob("cancelled by the user"); });
for (const btn of document.querySelectorAll("[data-tool]")) {
  btn.addEventListener("click", () => selectTool(btn.dataset.tool));
}
for (const btn of document.querySelectorAll("[data-preset]")) {
  btn.addEventListener("click", () => app.editor.preset(btn.dataset.preset));
}
$("invert").addEventListener("click", () => app.editor.invert());
$("clear").addEventListener("click", () => app.editor.clear());
$("undo").addEventListener("click", () => app.editor.undo());
$("redo").addEventListener("click", () => app.editor.redo());
$("brush-size").addEventListener("input", (e) => setBrush(parseInt(e.target.value, 10)));
// a slider or a checkbox keeps no keys for itself: give the shortcuts back once it is used
for (const el of document.querySelectorAll("input[type=range], input[type=checkbox]")) {
  el.addEventListener("change", () => el.blur());
  el.addEventListener("pointerup", () => el.blur());
}
$("params").addEventListener("submit", (e) => e.preventDefault());   // Enter is handled below
$("ba-slider").addEventListener("input", (e) => setBeforeAfter(e.target.value));
$("grain").addEventListener("change", async () => {
  if (app.result) await redrawResults();
});
document.addEventListener("keyup", (e) => {
  if (e.key === "o" || e.key === "O") document.body.classList.remove("show-original");
  if (e.key === " ") app.viewport.setSpace(false);
});

function selectTool(tool) {
  app.editor.setTool(tool);
  for (const b of document.querySelectorAll("[data-tool]")) b.classList.toggle("active", b.dataset.tool === tool);
}

function setBrush(size) {
  app.editor.setBrush(size);
  $("brush-size").value = app.editor.brush;
  $("brush-size-value").textContent = app.editor.brush;
}

const PRESET_KEYS = ["center", "left", "right", "top", "bottom", "random80", "eyes", "mouth"];

/** The preset a digit key names, if its button is shown for this model. */
function presetForKey(key) {
  const n = parseInt(key, 10);
  if (!(n >= 1 && n <= PRESET_KEYS.length)) return null;
  const button = document.querySelector(`[data-preset="${PRESET_KEYS[n - 1]}"]`);
  return button && button.offsetParent !== null ? PRESET_KEYS[n - 1] : null;
}

document.addEventListener("keydown", (e) => {
  if ($("help").open) {                       // the dialog is modal: its own keys only
    if (e.key === "Escape" || e.key === "?") { e.preventDefault(); $("help").close(); }
    return;
  }
  const field = e.target.closest?.("input, select, textarea");
  if (field && e.key === "Enter" && field.form === $("params")) { e.preventDefault(); app.complete(); return; }
  const view = document.body.dataset.view ?? "inpaint";
  if (view !== "inpaint") {     // the Lab: its own keys, then the page's general ones
    if (e.ctrlKey || e.metaKey || e.altKey) return;  // the browser's own (paste, print, ...)
    if (e.key === "Enter" && e.target.closest?.("button, a, label.button")) return;   // it presses that

    if (field && e.key === "Enter") return;          // the form submits itself
    if (field && !["range", "checkbox"].includes(field.type)) return;
    const latent = view === "latent" ? {
      n: () => app.latent.newSamples(), m: () => app.latent.morph(), Enter: () => app.latent.compute(),
      a: () => app.latent.addSelected("a"), b: () => app.latent.addSelected("b"), c: () => app.latent.addSelected("c"),
    } : {};
    const lab = {
      Enter: () => app.lab[view]?.start(), Escape: () => app.job.active && stopJob("cancelled by the user"),
      v: () => showView(VIEW_ORDER[(VIEW_ORDER.indexOf(view) + 1) % VIEW_ORDER.length]),
      p: () => app.presenter.togglePresenter(), "?": () => app.presenter.toggleHelp(),
      d: () => app.presenter.toggleDemo(), ...latent,
    }[e.key];
    if (lab) { e.preventDefault(); lab(); }
    return;
  }
  if (field && !["range", "checkbox"].includes(field.type)) return;   // typing in a field
  if (field?.type === "range" && e.key.startsWith("Arrow")) return;  // the slider's own keys
  const ctrl = e.ctrlKey || e.metaKey;
  if (ctrl && e.key.toLowerCase() === "z") { e.preventDefault(); return e.shiftKey ? app.editor.redo() : app.editor.undo(); }
  if (ctrl) return;
  const actions = {
    Enter: () => app.complete(), Escape: () => app.job.active && $("stop").click(),
    b: () => selectTool("brush"), e: () => selectTool("eraser"), r: () => selectTool("rect"),
    "[": () => setBrush(app.editor.brush - 1), "]": () => setBrush(app.editor.brush + 1),
    i: () => app.editor.invert(), c: () => app.editor.clear(),
    ArrowRight: () => app.source.next(1), ArrowLeft: () => app.source.next(-1),
    p: () => app.presenter.togglePresenter(), d: () => app.presenter.toggleDemo(), "?": () => app.presenter.toggleHelp(),
    o: () => document.body.classList.add("show-original"), O: () => document.body.classList.add("show-original"),
    " ": () => app.viewport.setSpace(true), "0": () => app.viewport.fit(),
    v: () => showView("dream"),
  };
  const preset = presetForKey(e.key);
  if (preset) { e.preventDefault(); return app.editor.preset(preset); }
  if (actions[e.key]) { e.preventDefault(); actions[e.key](); }
});

window.regen = app;   // for the browser tests and the curious
app.source.load().then(loadLab).catch((err) => toast(`Cannot load the models: ${err.message}`));
