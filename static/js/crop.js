// The crop square on an uploaded photo: after the server has found the face (or
// the digit), the square is drawn on the photo; drag inside it to move it, drag
// its corner handle or use the wheel to resize it, then "Use this crop" asks the
// server to re-crop there. The result is pasted back into the same place.
const HANDLE = 14;   // px of the corner handle, on screen

export class CropEditor {
  constructor(canvas, onApply) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.onApply = onApply;
    canvas.addEventListener("pointerdown", (e) => this.#down(e));
    canvas.addEventListener("pointermove", (e) => this.#move(e));
    window.addEventListener("pointerup", () => { this.drag = null; });
    canvas.addEventListener("pointercancel", () => { this.drag = null; });
    canvas.addEventListener("wheel", (e) => this.#wheel(e), { passive: false });
  }

  /** Show `photo` (an image, from `file`) with the square `box` [x, y, side] in photo pixels. */
  show(photo, box, file) {
    this.photo = photo;
    this.file = file;
    this.box = box.slice(0, 3);
    const fit = Math.min(1, 448 / Math.max(photo.width, photo.height));
    this.scale = fit;
    this.canvas.width = Math.round(photo.width * fit);
    this.canvas.height = Math.round(photo.height * fit);
    this.draw();
  }

  /** Keep the square at least 8 px, at most twice the photo's long side, and on the photo. */
  #clamp() {
    const { width: w, height: h } = this.photo;
    const side = Math.max(8, Math.min(2 * Math.max(w, h), this.box[2]));
    this.box = [Math.max(1 - side, Math.min(w - 1, this.box[0])), Math.max(1 - side, Math.min(h - 1, this.box[1])), side];
  }

  draw() {
    this.#clamp();
    const { ctx, scale } = this;
    ctx.drawImage(this.photo, 0, 0, this.canvas.width, this.canvas.height);
    const [x, y, side] = this.box.map((v) => v * scale);
    ctx.save();
    ctx.fillStyle = "rgba(0, 0, 0, 0.45)";              // dim what lies outside the square
    ctx.beginPath();
    ctx.rect(0, 0, this.canvas.width, this.canvas.height);
    ctx.rect(x, y, side, side);
    ctx.fill("evenodd");
    ctx.strokeStyle = "#ff00aa";
    ctx.lineWidth = 2;
    ctx.strokeRect(x, y, side, side);
    ctx.fillStyle = "#ff00aa";
    ctx.fillRect(x + side - HANDLE / 2, y + side - HANDLE / 2, HANDLE, HANDLE);
    ctx.restore();
  }

  #point(e) {
    const r = this.canvas.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * this.canvas.width / this.scale,
            ((e.clientY - r.top) / r.height) * this.canvas.height / this.scale];
  }

  #down(e) {
    if (!this.photo) return;
    const [px, py] = this.#point(e);
    const [x, y, side] = this.box;
    const handle = HANDLE / this.scale;
    if (Math.abs(px - (x + side)) < handle && Math.abs(py - (y + side)) < handle) {
      this.drag = { kind: "resize" };
    } else if (px >= x && px <= x + side && py >= y && py <= y + side) {
      this.drag = { kind: "move", dx: px - x, dy: py - y };
    }
    if (this.drag) this.canvas.setPointerCapture?.(e.pointerId);
  }

  #move(e) {
    if (!this.drag) return;
    const [px, py] = this.#point(e);
    const [x, y] = this.box;
    if (this.drag.kind === "move") {
      this.box[0] = Math.round(px - this.drag.dx);
      this.box[1] = Math.round(py - this.drag.dy);
    } else {
      this.box[2] = Math.max(8, Math.round(Math.max(px - x, py - y)));
    }
    this.draw();
  }

  #wheel(e) {
    if (!this.photo) return;
    e.preventDefault();
    const [x, y, side] = this.box;
    const next = Math.max(8, Math.round(side * Math.exp(-e.deltaY * 0.002)));
    this.box = [Math.round(x + (side - next) / 2), Math.round(y + (side - next) / 2), next];   // about its centre
    this.draw();
  }
}
