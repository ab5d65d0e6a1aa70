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
  if (!$("class-field").hidden && form.elements.class.value !== "") params.class = parseInt(form.elements.class.value, 10);
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
  const panels = { "cmp-original": editor.image, "cmp-masked": editor.maskedCanvas(), "cmp-regen": regen,
    "cmp-telea": telea, "ba-before": editor.image, "ba-after": regen };
  for (const [id, src] of Object.entries(panels)) {
    const c = $(id);
    c.width = c.height = 192;
    drawPixelated(c, src);
  }
  setBeforeAfter($("ba-slider").value);
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
  $("result-note").textContent = (done.class != null ? `Completed as a ${done.class}. ` : "") +
    `${done.steps} steps${done.stopped_early ? " (stopped early: the loss had levelled off)" : ""} ` +
    `in ${done.seconds.toFixed(1)} s · final loss ${done.losses.total.toFixed(3)}`;
  $("results").hidden = false;
}

/** The before/after slider: the result shows right of `percent`, the original left of it. */
export function setBeforeAfter(percent) {
  $("ba-after").style.clipPath = `inset(0 0 0 ${percent}%)`;
}

/**
 * Paste a completion back into the photo: only the hole is replaced, the 64 px
 * (or 28 px) fill scaled up to the crop's box, so it is as soft as that upscale.
 * `inverted`: the model saw the photo gray and inverted (a dark digit on light
 * paper), so the fill is inverted back to the photo's polarity.
 * Returns a canvas the photo's size.
 */
export function pasteBack(photo, box, completion, hole, size, inverted = false, grain = true) {
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
  if (grain) matchGrain(ctx, photo, box, hole, size);
  return out;
}

/**
 * Give the upscaled fill the photo's own fine detail: the high-frequency band
 * (pixel minus its local mean over one model pixel) of the known ring is
 * measured, and Gaussian grain adds what the soft fill lacks, so the patch does
 * not read as a smooth blob in a sharp photo. Works inside the box only.
 */
function matchGrain(ctx, photo, box, hole, size) {
  const [bx, by, side] = box;
  const x0 = Math.max(0, bx), y0 = Math.max(0, by);
  const x1 = Math.min(photo.width, bx + side), y1 = Math.min(photo.height, by + side);
  const w = x1 - x0, h = y1 - y0;
  if (w < 4 || h < 4) return;
  const scale = side / size;
  const radius = Math.max(1, Math.round(scale / 2));
  const img = ctx.getImageData(x0, y0, w, h);
  const inHole = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const mx = Math.floor((x + x0 - bx) / scale), my = Math.floor((y + y0 - by) / scale);
      inHole[y * w + x] = hole[Math.min(size - 1, my) * size + Math.min(size - 1, mx)];
    }
  }
  const luma = new Float32Array(w * h);
  for (let i = 0; i < w * h; i++) {
    const d = img.data;
    luma[i] = 0.299 * d[4 * i] + 0.587 * d[4 * i + 1] + 0.114 * d[4 * i + 2];
  }
  const blurred = boxBlur(luma, w, h, radius);
  // robust noise levels (1.4826 x the median |high band|): edges such as eyes or hair
  // in the known ring would inflate a plain standard deviation
  const bands = [[], []];                              // [known ring, fill]
  for (let i = 0; i < w * h; i++) bands[inHole[i]].push(Math.abs(luma[i] - blurred[i]));
  const level = (v) => {
    if (!v.length) return 0;
    const sorted = Float32Array.from(v).sort();
    return 1.4826 * sorted[sorted.length >> 1];
  };
  const ring = level(bands[0]), fill = level(bands[1]);
  const sigma = Math.sqrt(Math.max(0, ring * ring - fill * fill));
  if (!(sigma > 0.5)) return;
  let seed = 12345;                                    // the same grain for the same photo and hole
  const gauss = () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    const u = (seed + 1) / 4294967297;
    seed = (seed * 1664525 + 1013904223) >>> 0;
    const v = (seed + 1) / 4294967297;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  for (let i = 0; i < w * h; i++) {
    if (!inHole[i]) continue;
    const n = sigma * gauss();
    for (let c = 0; c < 3; c++) img.data[4 * i + c] = Math.max(0, Math.min(255, img.data[4 * i + c] + n));
  }
  ctx.putImageData(img, x0, y0);
}

/** Mean over a (2r+1)^2 box, edges clamped: two running-sum passes. */
function boxBlur(values, w, h, r) {
  const tmp = new Float32Array(w * h), out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    let acc = 0;
    for (let x = -r; x <= r; x++) acc += values[y * w + Math.min(w - 1, Math.max(0, x))];
    for (let x = 0; x < w; x++) {
      tmp[y * w + x] = acc / (2 * r + 1);
      acc += values[y * w + Math.min(w - 1, x + r + 1)] - values[y * w + Math.max(0, x - r)];
    }
  }
  for (let x = 0; x < w; x++) {
    let acc = 0;
    for (let y = -r; y <= r; y++) acc += tmp[Math.min(h - 1, Math.max(0, y)) * w + x];
    for (let y = 0; y < h; y++) {
      out[y * w + x] = acc / (2 * r + 1);
      acc += tmp[Math.min(h - 1, y + r + 1) * w + x] - tmp[Math.max(0, y - r) * w + x];
    }
  }
  return out;
}
