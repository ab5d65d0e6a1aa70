// Where the image comes from: the model picker, the sample gallery, and uploads
// (file, drag-and-drop, paste), which the server crops to the model's input.
import { CropEditor } from "./crop.js";
import { $, toast } from "./ui.js";

export class Source {
  constructor(editor, onPicked) {
    this.editor = editor;
    this.onPicked = onPicked;
    this.models = [];
    this.model = null;
    this.samples = [];
    this.current = null;   // {kind: "sample", id} | {kind: "upload", bytes, photo, box, inverted}
    this.#wireUpload();
    this.crop = new CropEditor($("crop-canvas"));
    $("crop-apply").addEventListener("click", () => this.upload(this.crop.file, this.crop.box));
    $("model-picker").addEventListener("change", (e) => this.selectModel(e.target.value));
  }

  async load() {
    const res = await fetch("/api/models");
    this.models = await res.json();
    const picker = $("model-picker");
    picker.innerHTML = "";
    for (const m of this.models) {
      const opt = document.createElement("option");
      opt.value = m.name;
      opt.textContent = m.title;
      picker.append(opt);
    }
    if (!this.models.length) {
      toast("The server has no models. Train and export one (see the README).");
      return;
    }
    await this.selectModel(this.models[0].name);
  }

  async selectModel(name) {
    this.model = this.models.find((m) => m.name === name);
    $("model-picker").value = name;
    document.body.dataset.kind = this.model.kind;
    const classes = $("params").elements.class;       // a class-conditional model: "complete as"
    classes.replaceChildren(new Option("any", ""),
      ...Array.from({ length: this.model.num_classes }, (_, k) => new Option(String(k), String(k))));
    $("class-field").hidden = !this.model.num_classes;
    const res = await fetch(`/api/models/${encodeURIComponent(name)}/samples`);
    this.samples = await res.json();
    this.#renderGallery();
    if (this.samples.length) await this.pickSample(0);
  }

  get size() { return this.model.image_shape[0]; }

  async pickSample(index) {
    const n = this.samples.length;
    if (!n) return;
    this.index = ((index % n) + n) % n;
    const sample = this.samples[this.index];
    const img = await loadImage(sample.url);
    this.current = { kind: "sample", id: sample.id };
    $("crop-editor").hidden = true;
    this.editor.setImage(img, this.size);
    for (const [i, el] of [...$("gallery").children].entries()) el.classList.toggle("active", i === this.index);
    $("upload-note").textContent = "";
    this.onPicked();
  }

  next(step = 1) { return this.pickSample((this.index ?? -1) + step); }

  /** The payload fields naming the image: {sample} or {image}. */
  imageField() {
    return this.current.kind === "sample" ? { sample: this.current.id } : { image: this.current.bytes };
  }

  /** Send a photo to the server to be cropped (where it finds the face, or at `box`). */
  async upload(file, box = null) {
    if (!file || !file.type.startsWith("image/")) {
      toast("That is not an image: use PNG, JPEG or WebP.");
      return;
    }
    const where = box ? `&box=${box.map((v) => Math.round(v)).join(",")}` : "";
    const res = await fetch(`/api/prepare?model=${encodeURIComponent(this.model.name)}${where}`, {
      method: "POST", body: file, headers: { "Content-Type": "application/octet-stream" },
    });
    const body = await res.json().catch(() => ({ message: `the server answered ${res.status}` }));
    if (!res.ok) { toast(`Upload refused: ${body.message}`); return; }
    const [crop, photo] = await Promise.all([loadImage(body.image), loadImage(URL.createObjectURL(file))]);
    const bytes = dataUrlBytes(body.image);
    this.current = { kind: "upload", bytes, photo, box: body.box, inverted: body.inverted };
    this.editor.setImage(crop, this.size);
    for (const el of $("gallery").children) el.classList.remove("active");
    const found = box ? "Cropped where you put the square." : this.model.kind === "faces"
      ? (body.face_found ? "Face found and cropped." : "No face found: using the central square.")
      : "Digit found and centred.";
    $("upload-note").textContent = this.model.kind === "faces" ? found
      : `${found} ${body.inverted ? "Converted to gray and inverted (light background)." : "Converted to gray."}`;
    this.crop.show(photo, body.box, file);
    $("crop-editor").hidden = false;
    this.onPicked();
  }

  #renderGallery() {
    const gallery = $("gallery");
    gallery.innerHTML = "";
    this.samples.forEach((s, i) => {
      const img = document.createElement("img");
      img.src = s.url;
      img.alt = `sample ${s.id}`;
      img.dataset.sample = s.id;
      img.addEventListener("click", () => this.pickSample(i));
      gallery.append(img);
    });
  }

  #wireUpload() {
    const zone = $("dropzone");
    const input = $("file-input");
    input.addEventListener("change", () => this.upload(input.files[0]));
    zone.addEventListener("keydown", (e) => { if (e.key === "Enter") input.click(); });
    zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("over");
      this.upload(e.dataTransfer.files[0]);
    });
    window.addEventListener("paste", (e) => {
      if ((document.body.dataset.view ?? "inpaint") !== "inpaint") return;   // the Lab has its own pickers
      const item = [...(e.clipboardData?.items ?? [])].find((i) => i.type.startsWith("image/"));
      if (item) this.upload(item.getAsFile());
    });
  }
}

/** The bytes of a base64 data: URL (decoded here: the page's CSP lets fetch reach only its own origin). */
export function dataUrlBytes(url) {
  return Uint8Array.from(atob(url.slice(url.indexOf(",") + 1)), (c) => c.charCodeAt(0)).buffer;
}

export function loadImage(url) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error(`cannot load ${url}`));
    img.src = url;
  });
}
