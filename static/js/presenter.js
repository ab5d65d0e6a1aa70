// Presenter mode (fullscreen, large layout), the shortcut help, and the auto-demo
// loop that cycles samples and mask presets by itself.
import { $ } from "./ui.js";

const FACE_PRESETS = ["center", "eyes", "mouth", "left", "bottom", "random80"];
const DIGIT_PRESETS = ["bottom", "center", "left", "top", "random80"];
const PAUSE_MS = 2500;

export class Presenter {
  constructor(app) {
    this.app = app;   // {source, editor, complete(), running}
    this.demo = false;
    this.round = 0;
    $("presenter-toggle").addEventListener("click", () => this.togglePresenter());
    $("demo-toggle").addEventListener("click", () => this.toggleDemo());
    $("help-toggle").addEventListener("click", () => this.toggleHelp());
  }

  togglePresenter() {
    const on = document.body.classList.toggle("presenter");
    if (on) document.documentElement.requestFullscreen?.().catch(() => {});
    else if (document.fullscreenElement) document.exitFullscreen?.();
  }

  toggleHelp() {
    const dialog = $("help");
    if (dialog.open) dialog.close(); else dialog.showModal();
  }

  toggleDemo(on = !this.demo) {
    this.demo = on;
    $("demo-toggle").classList.toggle("active", on);
    clearTimeout(this.timer);
    if (on && !this.app.running) this.#nextRound();
  }

  /** Called by the page when a job ends; schedules the next demo round. */
  jobEnded() {
    clearTimeout(this.timer);
    if (this.demo) this.timer = setTimeout(() => this.#nextRound(), PAUSE_MS);
  }

  async #nextRound() {
    if (!this.demo || this.app.running) return;   // a job the user started keeps the stage
    const view = document.body.dataset.view ?? "inpaint";
    if (view !== "inpaint") {                     // a Lab view demonstrates itself
      this.round += 1;
      await this.app.demoRound(view, this.round);
      return;
    }
    const { source, editor } = this.app;
    await source.next(1);                         // nothing while a pick of the user's is on its way
    if (source.loading) return this.jobEnded();   // so the user's pick lands first; try again later
    const presets = source.model.kind === "faces" ? FACE_PRESETS : DIGIT_PRESETS;
    editor.preset(presets[this.round % presets.length]);
    this.round += 1;
    this.app.complete();
  }
}
