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
    this.ticket = 0;       // of the latest pick: a model, a sample or an upload
    this.settled = 0;      // the ticket of the latest pick that has settled
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

  /** Show `name`'s gallery and first sample. The model, its gallery and the editor's image
   *  change together, once the sample list and the first image have both arrived; a later
   *  pick (model, sample or upload) made meanwhile wins, and this one's answers are dropped. */
  async selectModel(name) {
    $("model-picker").value = name;
    await this.#loading(async (stale) => {
      const model = this.models.find((m) => m.name === name);
      const samples = await (await fetch(`/api/models/${encodeURIComponent(name)}/samples`)).json();
      const first = samples.length ? await loadImage(samples[0].url) : null;
      if (stale()) return;
      this.model = model;
      this.samples = samples;
      document.body.dataset.kind = model.kind;
      const classes = $("params").elements.class;       // a class-conditional model: "complete as"
      classes.replaceChildren(new Option("any", ""),
        ...Array.from({ length: model.num_classes }, (_, k) => new Option(String(k), String(k))));
      $("class-field").hidden = !model.num_classes;
      this.#renderGallery();
      if (first) {
        this.#showSample(first, 0);
      } else {                                           // nothing to show until an upload
        this.current = null;
        this.editor.setImage(blank(this.size), this.size);
        $("upload-note").textContent = "This model has no sample images: upload one.";
        this.onPicked();
      }
    });
  }

  get size() { return this.model.image_shape[0]; }

  /** True from a pick until the latest pick has settled (shown, refused or failed): until
   *  then what is on screen may not be what the user asked for. */
  get loading() { return this.settled !== this.ticket; }

  /** Show gallery sample `index` (wrapping around). */
  pickSample(index) {
    const n = this.samples.length;
    if (!n) return Promise.resolve();
    const chosen = ((index % n) + n) % n;
    return this.#loading(async (stale) => {
      const img = await loadImage(this.samples[chosen].url);
      if (!stale()) this.#showSample(img, chosen);
    });
  }

  #showSample(img, index) {
    this.index = index;
    this.current = { kind: "sample", id: this.samples[index].id };
    $("crop-editor").hidden = true;
    this.editor.setImage(img, this.size);
    for (const [i, el] of [...$("gallery").children].entries()) el.classList.toggle("active", i === index);
    $("upload-note").textContent = "";
    this.onPicked();
  }

  /** Run one pick, `work(stale)`; stale() turns true once a newer pick has begun. Once the
   *  latest pick settles, the model picker shows the model in use (a pick that was
   *  overtaken, refused or failed leaves the one before). */
  async #loading(work) {
    const ticket = ++this.ticket;
    try {
      await work(() => ticket !== this.ticket);
    } catch (err) {
      if (ticket === this.ticket) toast(`Cannot load it: ${err.message}`);
    } finally {
      if (ticket === this.ticket) {
        this.settled = ticket;
        if (this.model) $("model-picker").value = this.model.name;
      }
    }
  }

  /** The next (step = 1) or previous gallery sample; nothing while a pick is on its way
   *  (the arrows would browse the gallery of the model being left). */
  next(step = 1) { return this.loading ? Promise.resolve() : this.pickSample((this.index ?? -1) + step); }

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
    await this.#loading((stale) => this.#upload(file, box, stale));
  }

  async #upload(file, box, stale) {
    const where = box ? `&box=${box.map((v) => Math.round(v)).join(",")}` : "";
    const res = await fetch(`/api/prepare?model=${encodeURIComponent(this.model.name)}${where}`, {
      method: "POST", body: file, headers: { "Content-Type": "application/octet-stream" },
    });
    const body = await res.json().catch(() => ({ message: `the server answered ${res.status}` }));
    if (stale()) return;
    if (!res.ok) { toast(`Upload refused: ${body.message}`); return; }
    const [crop, photo] = await Promise.all([loadImage(body.image), loadImage(URL.createObjectURL(file))]);
    if (stale()) return;
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

/** A mid-grey size x size canvas: the editor's picture while a model has none to show. */
function blank(size) {
  const c = document.createElement("canvas");
  c.width = c.height = size;
  const ctx = c.getContext("2d");
  ctx.fillStyle = "#808080";
  ctx.fillRect(0, 0, size, size);
  return c;
}

export function loadImage(url) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error(`cannot load ${url}`));
    img.src = url;
  });
}
