// Mask editing over a pixelated, enlarged view of a small image (28x28 or 64x64).
// The hole is a Uint8Array, row-major, 1 = pixel to regenerate.
import { presetHole } from "./presets.js";

const HISTORY = 50;
const HOLE_RGBA = [255, 0, 170, 190];

/** Draw `source` onto `canvas`, scaled without smoothing so pixels stay crisp. */
export function drawPixelated(canvas, source) {
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(source, 0, 0, canvas.width, canvas.height);
}

/** A copy of `image` (size x size) with the pixels of `hole` painted grey. */
export function maskedCanvas(image, hole, size) {
  const c = document.createElement("canvas");
  c.width = c.height = size;
  const ctx = c.getContext("2d");
  ctx.drawImage(image, 0, 0);
  const data = ctx.getImageData(0, 0, size, size);
  hole.forEach((v, i) => { if (v) data.data.set([128, 128, 128, 255], i * 4); });
  ctx.putImageData(data, 0, 0);
  return c;
}

export class MaskEditor {
  constructor(canvas, onChange = () => {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.onChange = onChange;
    this.tool = "brush";
    this.brush = 4;
    this.size = 0;
    this.undoStack = [];
    this.redoStack = [];
    this.image = document.createElement("canvas");
    this.overlay = document.createElement("canvas");
    canvas.addEventListener("pointerdown", (e) => this.#down(e));
    canvas.addEventListener("pointermove", (e) => this.#move(e));
    canvas.addEventListener("pointerleave", () => { this.hover = null; this.render(); });
    window.addEventListener("pointerup", (e) => this.#up(e));
  }

  /** Show a new image (anything drawImage takes) at `size` x `size`; clears the mask. */
  setImage(source, size) {
    this.size = size;
    for (const c of [this.image, this.overlay]) { c.width = size; c.height = size; }
    const ctx = this.image.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(source, 0, 0, size, size);
    this.hole = new Uint8Array(size * size);
    this.undoStack = [];
    this.redoStack = [];
    this.#changed();
  }

  get ready() { return this.size > 0; }
  get holeCount() { return this.hole ? this.hole.reduce((a, b) => a + b, 0) : 0; }
  get holeShare() { return this.size ? this.holeCount / (this.size * this.size) : 0; }

  setTool(tool) { this.tool = tool; }
  setBrush(size) { this.brush = Math.max(1, Math.min(16, size)); }

  preset(name) { this.#edit(() => { this.hole = presetHole(name, this.size); }); }
  invert() { this.#edit(() => { this.hole = this.hole.map((v) => 1 - v); }); }
  clear() { this.#edit(() => { this.hole = new Uint8Array(this.size * this.size); }); }

  undo() {
    if (!this.undoStack.length) return;
    this.redoStack.push(this.hole);
    this.hole = this.undoStack.pop();
    this.#changed();
  }

  redo() {
    if (!this.redoStack.length) return;
    this.undoStack.push(this.hole);
    this.hole = this.redoStack.pop();
    this.#changed();
  }

  /** The mask as PNG bytes at the image's size: white = hole, black = keep. */
  async maskPNG() {
    const c = document.createElement("canvas");
    c.width = c.height = this.size;
    const ctx = c.getContext("2d");
    const data = ctx.createImageData(this.size, this.size);
    this.hole.forEach((v, i) => {
      data.data.set(v ? [255, 255, 255, 255] : [0, 0, 0, 255], i * 4);
    });
    ctx.putImageData(data, 0, 0);
    const blob = await new Promise((resolve) => c.toBlob(resolve, "image/png"));
    return blob.arrayBuffer();
  }

  /** The image with the hole painted grey, for the comparison strip. */
  maskedCanvas() { return maskedCanvas(this.image, this.hole, this.size); }

  /** A copy of the image and the hole as they are now: what a job was sent. */
  snapshot() {
    const image = document.createElement("canvas");
    image.width = image.height = this.size;
    image.getContext("2d").drawImage(this.image, 0, 0);
    const hole = this.hole.slice();
    const size = this.size;
    return { image, hole, size, maskedCanvas: () => maskedCanvas(image, hole, size) };
  }

  render(preview = null) {
    if (!this.ready) return;
    drawPixelated(this.canvas, this.image);
    const octx = this.overlay.getContext("2d");
    const data = octx.createImageData(this.size, this.size);
    this.hole.forEach((v, i) => { if (v) data.data.set(HOLE_RGBA, i * 4); });
    if (preview) {
      const [x0, y0, x1, y1] = preview;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) data.data.set(HOLE_RGBA, (y * this.size + x) * 4);
    }
    octx.putImageData(data, 0, 0);
    this.ctx.imageSmoothingEnabled = false;
    this.ctx.drawImage(this.overlay, 0, 0, this.canvas.width, this.canvas.height);
    this.#drawCursor();
  }

  /** The brush's footprint as a ring under the pointer (brush and eraser). */
  #drawCursor() {
    if (!this.hover || this.tool === "rect") return;
    const scale = this.canvas.width / this.size;
    const [x, y] = this.hover;
    this.ctx.save();
    this.ctx.beginPath();
    this.ctx.arc((x + 0.5) * scale, (y + 0.5) * scale, Math.max(1, (this.brush / 2) * scale), 0, 2 * Math.PI);
    this.ctx.lineWidth = 2;
    this.ctx.strokeStyle = this.tool === "eraser" ? "#ffffff" : "#ff00aa";
    this.ctx.setLineDash(this.tool === "eraser" ? [4, 3] : []);
    this.ctx.stroke();
    this.ctx.restore();
  }

  #edit(fn) {
    if (!this.ready) return;
    this.#remember();
    fn();
    this.#changed();
  }

  /** Push the mask as it is now onto the undo history (at most HISTORY deep); a new edit clears redo. */
  #remember() {
    this.undoStack.push(this.hole.slice());
    if (this.undoStack.length > HISTORY) this.undoStack.shift();
    this.redoStack = [];
  }

  #changed() { this.render(); this.onChange(this); }

  #pixel(e) {
    const r = this.canvas.getBoundingClientRect();
    const x = Math.floor(((e.clientX - r.left) / r.width) * this.size);
    const y = Math.floor(((e.clientY - r.top) / r.height) * this.size);
    return [Math.max(0, Math.min(this.size - 1, x)), Math.max(0, Math.min(this.size - 1, y))];
  }

  #paint([cx, cy]) {
    const r = this.brush / 2;
    const value = this.tool === "eraser" ? 0 : 1;
    for (let y = Math.floor(cy - r); y <= Math.ceil(cy + r); y++) {
      for (let x = Math.floor(cx - r); x <= Math.ceil(cx + r); x++) {
        if (x < 0 || y < 0 || x >= this.size || y >= this.size) continue;
        if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r + 0.25) this.hole[y * this.size + x] = value;
      }
    }
  }

  #down(e) {
    if (!this.ready || e.button !== 0) return;
    this.canvas.setPointerCapture?.(e.pointerId);
    this.#remember();
    this.drag = { start: this.#pixel(e), last: this.#pixel(e) };
    if (this.tool !== "rect") { this.#paint(this.drag.start); this.render(); }
  }

  #move(e) {
    if (!this.ready) return;
    const p = this.#pixel(e);
    this.hover = p;
    if (!this.drag) { this.render(); return; }
    if (this.tool === "rect") {
      this.render(this.#rect(this.drag.start, p));
    } else {
      // Fill the gap between two pointer events so fast strokes stay continuous.
      const [x0, y0] = this.drag.last;
      const n = Math.max(Math.abs(p[0] - x0), Math.abs(p[1] - y0), 1);
      for (let i = 1; i <= n; i++) this.#paint([x0 + ((p[0] - x0) * i) / n, y0 + ((p[1] - y0) * i) / n]);
      this.render();
    }
    this.drag.last = p;
  }

  #up(e) {
    if (!this.drag) return;
    if (this.tool === "rect") {
      const [x0, y0, x1, y1] = this.#rect(this.drag.start, this.#pixel(e));
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) this.hole[y * this.size + x] = 1;
    }
    this.drag = null;
    this.#changed();
  }

  #rect([ax, ay], [bx, by]) {
    return [Math.min(ax, bx), Math.min(ay, by), Math.max(ax, bx) + 1, Math.max(ay, by) + 1];
  }
}
