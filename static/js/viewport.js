// Zoom and pan of the mask canvas: wheel (or a pinch, which browsers send as a
// ctrl+wheel) zooms around the pointer, Space + drag pans, `0` fits. A CSS
// transform only: the editor maps the pointer through getBoundingClientRect,
// so painting stays exact at every zoom.
const MIN_ZOOM = 1, MAX_ZOOM = 8;

export class Viewport {
  constructor(wrap, canvas) {
    this.wrap = wrap;
    this.canvas = canvas;
    this.zoom = 1;
    this.x = 0;
    this.y = 0;
    this.spaceHeld = false;
    wrap.addEventListener("wheel", (e) => this.#wheel(e), { passive: false });
    // Space + drag pans; the capture phase keeps the stroke from reaching the editor
    canvas.addEventListener("pointerdown", (e) => this.#panStart(e), true);
    window.addEventListener("pointermove", (e) => this.#panMove(e));
    window.addEventListener("pointerup", () => { this.pan = null; });
  }

  fit() { this.zoom = 1; this.x = this.y = 0; this.#apply(); }

  setSpace(held) {
    this.spaceHeld = held;
    this.canvas.classList.toggle("panning", held);
  }

  #wheel(e) {
    e.preventDefault();
    const r = this.canvas.getBoundingClientRect();
    const factor = Math.exp(-e.deltaY * (e.ctrlKey ? 0.01 : 0.002));
    const zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, this.zoom * factor));
    // keep the point under the pointer where it is
    const px = e.clientX - r.left, py = e.clientY - r.top;
    const k = zoom / this.zoom;
    this.x -= (k - 1) * px;
    this.y -= (k - 1) * py;
    this.zoom = zoom;
    this.#apply();
  }

  #panStart(e) {
    if (!this.spaceHeld) return;
    e.stopImmediatePropagation();
    e.preventDefault();
    this.pan = { x: e.clientX - this.x, y: e.clientY - this.y };
  }

  #panMove(e) {
    if (!this.pan) return;
    this.x = e.clientX - this.pan.x;
    this.y = e.clientY - this.pan.y;
    this.#apply();
  }

  #apply() {
    if (this.zoom === 1) { this.x = this.y = 0; }
    // never pan the image entirely out of its frame
    const w = this.canvas.offsetWidth * this.zoom, h = this.canvas.offsetHeight * this.zoom;
    this.x = Math.min(0, Math.max(this.canvas.offsetWidth - w, this.x));
    this.y = Math.min(0, Math.max(this.canvas.offsetHeight - h, this.y));
    this.canvas.style.transformOrigin = "0 0";
    this.canvas.style.transform = `translate(${this.x}px, ${this.y}px) scale(${this.zoom})`;
  }
}
