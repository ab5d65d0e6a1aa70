// The page: wires the mask editor, the image source, the socket and the chart together.
import { drawPixelated, MaskEditor } from "./canvas.js";
import { LossChart } from "./chart.js";
import { ERROR_CODES } from "./protocol.js";
import { Presenter } from "./presenter.js";
import { connect } from "./socket.js";
import { Source } from "./source.js";
import { $, bitmapFromBytes, pasteBack, readParams, setStatus, showResults, toast } from "./ui.js";

const app = { job: null, running: false };

app.editor = new MaskEditor($("mask-canvas"), (ed) => {
  $("hole-share").textContent = ed.ready ? `hole: ${(ed.holeShare * 100).toFixed(0)}% of the image` : "";
});
app.source = new Source(app.editor, () => {
  $("results").hidden = true;
  drawPixelated($("live-canvas"), app.editor.image);
  setStatus("Paint the part to regenerate, or pick a preset, then press Complete.");
});
app.chart = new LossChart($("loss-chart"));
app.presenter = new Presenter(app);

function setRunning(running) {
  app.running = running;
  $("complete").disabled = running;
  $("stop").disabled = !running;
  document.body.classList.toggle("running", running);
}

app.complete = async () => {
  if (!app.editor.ready) return toast("Pick an image first.");
  if (!app.editor.holeCount) return toast("Paint a hole first, or pick a preset.");
  if (app.editor.holeCount === app.editor.size ** 2) return toast("Keep part of the image: the whole image is masked.");
  if (!app.socket.connected) return toast("Not connected to the server.");
  const params = readParams();
  const payload = { model: app.source.model.name, ...app.source.imageField(), mask: await app.editor.maskPNG(), params };
  app.job = null;
  app.chart.reset(params.steps ?? 1, params.lambda ?? 0);
  $("progress").value = 0;
  setRunning(true);
  setStatus("Sending…");
  app.socket.complete(payload);
};

function mine(msg) {
  if (app.job === null && msg.job) app.job = msg.job;
  return msg.job === app.job;
}

app.socket = connect({
  connect: () => { $("connection").textContent = "connected"; $("connection").className = "pill ok"; },
  disconnect: (why) => {
    $("connection").textContent = "offline";
    $("connection").className = "pill bad";
    if (app.running) { setRunning(false); toast(`Lost the connection to the server (${why}).`); }
  },
  queued: (msg) => {
    if (!mine(msg)) return;
    setStatus(msg.position > 0 ? `Queued: ${msg.position} job(s) ahead of yours.` : "Starting…");
  },
  progress: async (msg) => {
    if (!mine(msg)) return;
    drawPixelated($("live-canvas"), await bitmapFromBytes(msg.image));
    app.chart.add(msg.step, msg.losses);
    $("progress").value = msg.step / msg.steps;
    setStatus(msg.step === 0 && app.source.model?.encoder
      ? "The encoder's guess · refining…"
      : `Step ${msg.step} / ${msg.steps} · loss ${msg.losses.total.toFixed(3)}`);
  },
  done: async (msg) => {
    if (!mine(msg)) return;
    setRunning(false);
    $("progress").value = 1;
    const result = await bitmapFromBytes(msg.image);
    drawPixelated($("live-canvas"), result);
    const src = app.source.current;
    const pasted = src.kind === "upload"
      ? pasteBack(src.photo, src.box, result, app.editor.hole, app.editor.size) : null;
    await showResults(app.editor, msg, pasted);
    setStatus(`Done in ${msg.seconds.toFixed(1)} s.`);
    document.body.dataset.state = "done";
    app.presenter.jobEnded();
  },
  error: (msg) => {
    if (msg.job && !mine(msg)) return;
    setRunning(false);
    const stopped = msg.code === ERROR_CODES.CANCELLED;
    setStatus(stopped ? `Stopped: ${msg.message}.` : `Error: ${msg.message}`);
    if (!stopped) toast(msg.message);
    app.presenter.jobEnded();
  },
});

$("complete").addEventListener("click", () => app.complete());
$("stop").addEventListener("click", () => { app.presenter.toggleDemo(false); app.socket.cancel(app.job); });
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

document.addEventListener("keydown", (e) => {
  if (e.target.closest("input, select, textarea")) return;
  const ctrl = e.ctrlKey || e.metaKey;
  if (ctrl && e.key.toLowerCase() === "z") { e.preventDefault(); return e.shiftKey ? app.editor.redo() : app.editor.undo(); }
  if (ctrl) return;
  const actions = {
    Enter: () => app.complete(), Escape: () => app.running && $("stop").click(),
    b: () => selectTool("brush"), e: () => selectTool("eraser"), r: () => selectTool("rect"),
    "[": () => setBrush(app.editor.brush - 1), "]": () => setBrush(app.editor.brush + 1),
    i: () => app.editor.invert(), c: () => app.editor.clear(),
    ArrowRight: () => app.source.next(1), ArrowLeft: () => app.source.next(-1),
    p: () => app.presenter.togglePresenter(), d: () => app.presenter.toggleDemo(), "?": () => app.presenter.toggleHelp(),
  };
  const preset = parseInt(e.key, 10);
  if (preset >= 1 && preset <= PRESET_KEYS.length) return app.editor.preset(PRESET_KEYS[preset - 1]);
  if (actions[e.key]) { e.preventDefault(); actions[e.key](); }
});

window.regen = app;   // for the browser tests and the curious
app.source.load().catch((err) => toast(`Cannot load the models: ${err.message}`));
