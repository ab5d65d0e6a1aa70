// Small DOM helpers shared by the page's modules: status line, toasts, parameters, results.
import { drawPixelated } from "./canvas.js";

export const $ = (id) => document.getElementById(id);

export function setStatus(text) { $("status").textContent = text; }

let toastTimer = null;
/** Show an error or notice in words; errors stay until the next action. */
export function toast(text, { error = true } = {}) {
  const el = $("toast");
  el.textContent = text;
  el.classList.toggle("error", error);
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, error ? 8000 : 3000);
}

/** The parameter form as the protocol's params object; empty fields are left out. */
export function readParams() {
  const form = $("params");
  const params = {};
  for (const key of ["steps", "restarts", "seed"]) {
    const v = form.elements[key].value.trim();
    if (v !== "") params[key] = parseInt(v, 10);
  }
  for (const key of ["lambda", "lr"]) {
    const v = form.elements[key].value.trim();
    if (v !== "") params[key] = parseFloat(v);
  }
  params.blend = form.elements.blend.checked;
  params.fast = form.elements.fast.checked;
  return params;
}

export async function bitmapFromBytes(bytes) {
  return createImageBitmap(new Blob([bytes], { type: "image/png" }));
}

/** Fill the comparison strip and the download link after a job is done. */
export async function showResults(editor, done, pasted) {
  const [regen, telea] = await Promise.all([bitmapFromBytes(done.image), bitmapFromBytes(done.baseline)]);
  const panels = { "cmp-original": editor.image, "cmp-masked": editor.maskedCanvas(), "cmp-regen": regen, "cmp-telea": telea };
  for (const [id, src] of Object.entries(panels)) {
    const c = $(id);
    c.width = c.height = 192;
    drawPixelated(c, src);
  }
  $("pasted-figure").hidden = !pasted;
  let downloadBlob = new Blob([done.image], { type: "image/png" });
  if (pasted) {
    const c = $("cmp-pasted");
    c.width = pasted.width; c.height = pasted.height;
    c.getContext("2d").drawImage(pasted, 0, 0);
    downloadBlob = await new Promise((resolve) => c.toBlob(resolve, "image/png"));
  }
  const link = $("download");
  if (link.href) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(downloadBlob);
  $("result-note").textContent =
    `${done.steps} steps${done.stopped_early ? " (stopped early: the loss had levelled off)" : ""} ` +
    `in ${done.seconds.toFixed(1)} s · final loss ${done.losses.total.toFixed(3)}`;
  $("results").hidden = false;
}

/**
 * Paste a completion back into the photo: only the hole is replaced, the 64 px
 * (or 28 px) fill scaled up to the crop's box, so it is as soft as that upscale.
 * `inverted`: the model saw the photo gray and inverted (a dark digit on light
 * paper), so the fill is inverted back to the photo's polarity.
 * Returns a canvas the photo's size.
 */
export function pasteBack(photo, box, completion, hole, size, inverted = false) {
  const [x, y, side] = box;
  const out = document.createElement("canvas");
  out.width = photo.width; out.height = photo.height;
  const ctx = out.getContext("2d");
  ctx.drawImage(photo, 0, 0);
  const patch = document.createElement("canvas");
  patch.width = patch.height = side;
  const pctx = patch.getContext("2d");
  pctx.imageSmoothingQuality = "high";
  pctx.drawImage(completion, 0, 0, side, side);
  if (inverted) {
    pctx.globalCompositeOperation = "difference";    // |white - fill| = 255 - fill
    pctx.fillStyle = "#ffffff";
    pctx.fillRect(0, 0, side, side);
    pctx.globalCompositeOperation = "source-over";
  }
  const maskSmall = document.createElement("canvas");
  maskSmall.width = maskSmall.height = size;
  const mctx = maskSmall.getContext("2d");
  const data = mctx.createImageData(size, size);
  hole.forEach((v, i) => { if (v) data.data.set([0, 0, 0, 255], i * 4); });
  mctx.putImageData(data, 0, 0);
  pctx.globalCompositeOperation = "destination-in";
  pctx.imageSmoothingEnabled = true;
  pctx.drawImage(maskSmall, 0, 0, side, side);   // smooth edges from the upscaled mask
  ctx.drawImage(patch, x, y);
  return out;
}
