"""What a training run writes besides checkpoints: a per-step CSV, TensorBoard
scalars, sample grids and a loss plot, all inside the run directory."""
import csv
import os

import numpy as np
import tensorflow as tf
from PIL import Image
from tensorflow.core.framework import summary_pb2

COLUMNS = ("step", "d_loss", "g_loss", "d_acc")
# Written with the raw summary op so that logging needs only TensorFlow; TensorBoard
# reads these as ordinary scalars.
_SCALAR = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"))


def image_grid(images, cols=8, pad=2):
    """(N, H, W, C) float in [-1, 1] -> one uint8 grid image (rows, cols), RGB or gray."""
    images = np.clip((np.asarray(images) + 1.0) * 127.5, 0, 255).round().astype(np.uint8)
    n, h, w, c = images.shape
    rows = -(-n // cols)
    grid = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), 255, np.uint8)
    for i, img in enumerate(images):
        r, k = divmod(i, cols)
        grid[pad + r * (h + pad):pad + r * (h + pad) + h, pad + k * (w + pad):pad + k * (w + pad) + w] = img
    return grid[..., 0] if c == 1 else grid


def save_grid(images, path, cols=8, scale=2):
    grid = Image.fromarray(image_grid(images, cols))
    grid.resize((grid.width * scale, grid.height * scale), Image.NEAREST).save(path)


class RunLog:
    """Appends one CSV row and one TensorBoard point per step."""

    def __init__(self, run_dir, columns=COLUMNS, start_step=None, name="log.csv"):
        """start_step: the step a resumed run carries on from; rows after it (logged
        after the last checkpoint by a run that then stopped) are dropped."""
        self.columns = columns
        self.path = os.path.join(run_dir, name)
        fresh = not os.path.exists(self.path)
        if not fresh and start_step is not None:
            self._truncate(start_step)
        self.file = open(self.path, "a", newline="")
        self.writer = csv.writer(self.file)
        if fresh:
            self.writer.writerow(columns)
        self.tb = tf.summary.create_file_writer(os.path.join(run_dir, "tensorboard"))

    def _truncate(self, last_step):
        with open(self.path, newline="") as f:
            rows = list(csv.reader(f))
        kept = rows[:1] + [r for r in rows[1:] if r and int(r[0]) <= last_step]
        if len(kept) < len(rows):
            with open(self.path, "w", newline="") as f:
                csv.writer(f).writerows(kept)

    def write(self, step, values):
        self.writer.writerow([step] + [f"{float(values[k]):.5f}" for k in self.columns[1:]])
        with self.tb.as_default():
            for k in self.columns[1:]:
                tf.summary.write(k, tf.constant(float(values[k])), step=step, metadata=_SCALAR)

    def flush(self):
        self.file.flush()
        self.tb.flush()

    def close(self):
        self.file.close()
        self.tb.close()


def last_row(path):
    """The last row of a run's CSV as {column: float}, or None if it has no rows."""
    if not os.path.exists(path):
        return None
    log = read_log(path)
    if not len(log["step"]):
        return None
    return {k: float(v[-1]) for k, v in log.items()}


def read_log(path):
    """The CSV as a dict of column -> float array."""
    with open(path) as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        columns = reader.fieldnames or COLUMNS
    return {k: np.array([float(r[k]) for r in rows]) for k in columns}


def save_loss_plot(log_path, out_path, smooth=50):
    """Losses and D accuracy against step, with a moving average over `smooth` steps."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    log = read_log(log_path)
    if len(log["step"]) == 0:
        return
    k = max(1, min(smooth, len(log["step"]) // 5))
    kernel = np.ones(k) / k
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    for name in ("d_loss", "g_loss"):
        ax1.plot(log["step"], log[name], alpha=0.2)
        ax1.plot(log["step"][k - 1:], np.convolve(log[name], kernel, "valid"), label=name)
    ax1.set_ylabel("loss")
    ax1.legend()
    ax2.plot(log["step"][k - 1:], np.convolve(log["d_acc"], kernel, "valid"), color="C2")
    ax2.set_ylabel("D accuracy")
    ax2.set_xlabel("step")
    ax2.set_ylim(0, 1)
    fig.tight_layout()
    fig.savefig(out_path, dpi=80)
    plt.close(fig)


GIF_FRAMES = 80          # at most this many grids in a progress.gif, evenly spaced, the last always in
GIF_FRAME_MS = 250
GIF_LAST_FRAME_MS = 2000


def save_progress_gif(samples_dir, out_path, max_frames=GIF_FRAMES):
    """An animation of a run's sample grids (samples_dir/step_XXXXXXX.png, in step
    order) with "step N" written above each, looping; the last grid is held longer.
    Writes nothing if there is no grid yet. Returns the number of frames."""
    from PIL import ImageDraw

    files = sorted(f for f in os.listdir(samples_dir) if f.startswith("step_") and f.endswith(".png"))
    if not files:
        return 0
    if len(files) > max_frames:
        picks = np.unique(np.linspace(0, len(files) - 1, max_frames).round().astype(int))
        files = [files[i] for i in picks]
    frames = []
    for name in files:
        with Image.open(os.path.join(samples_dir, name)) as grid:
            grid = grid.convert("RGB")
        frame = Image.new("RGB", (grid.width, grid.height + 16), "white")
        frame.paste(grid, (0, 16))
        ImageDraw.Draw(frame).text((4, 2), f"step {int(name[5:-4]):,}", fill="black")
        frames.append(frame.convert("P", palette=Image.ADAPTIVE))
    durations = [GIF_FRAME_MS] * (len(frames) - 1) + [GIF_LAST_FRAME_MS]
    frames[0].save(out_path, save_all=True, append_images=frames[1:], duration=durations, loop=0)
    return len(frames)
