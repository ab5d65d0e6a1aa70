"""Training data: MNIST, the CelebA face shards, or any folder of images.

Every loader returns a `Dataset`: images as (N, H, W, C) uint8, RGB or
grayscale, plus optional integer labels. `make_pipeline` turns that into a
shuffled, batched `tf.data.Dataset` of float32 images in [-1, 1].

The face validation shard (`faces64_val.npz`) is never read here: it is kept
for the gallery, the tests and the benchmarks.
"""
import dataclasses
import glob
import os
import warnings
import zipfile

import numpy as np
import tensorflow as tf
from PIL import Image

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif")


def default_data_dir():
    """`$REGEN_DATA`, else `../shared/datasets` beside the repository."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.environ.get("REGEN_DATA", os.path.join(os.path.dirname(here), "shared", "datasets"))


@dataclasses.dataclass
class Dataset:
    """images: (N, H, W, C) uint8, RGB or grayscale; labels: (N,) int32 or None."""

    name: str
    images: np.ndarray
    labels: np.ndarray | None = None
    num_classes: int = 0
    flip: bool = False  # random horizontal flips are right for faces, wrong for digits

    @property
    def image_shape(self):
        return tuple(int(s) for s in self.images.shape[1:])


def load_npz(path, keys):
    """{key: array} from an npz archive; clear errors if it is missing, corrupt or lacks a key."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"dataset file not found: {path} (set --data-dir or $REGEN_DATA)")
    try:
        data = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        # np.load reads unknown bytes as a pickle, which allow_pickle=False refuses
        raise ValueError(f"{path} is not a readable npz archive: {exc}") from exc
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} is not an npz archive")
    with data:
        missing = [k for k in keys if k not in data.files]
        if missing:
            raise ValueError(f"{path} lacks the keys {missing}; it has {data.files}")
        try:
            return {k: data[k] for k in keys}
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise ValueError(f"{path} is truncated or corrupt: {exc}") from exc


def load_mnist(data_dir=None, split="train"):
    """MNIST digits, (N, 28, 28, 1) uint8, white digit on black, with labels 0-9."""
    arrays = load_npz(os.path.join(data_dir or default_data_dir(), "mnist.npz"),
                       [f"x_{split}", f"y_{split}"])
    images = arrays[f"x_{split}"][..., None]
    return Dataset("mnist", images, arrays[f"y_{split}"].astype(np.int32), num_classes=10)


def load_faces(data_dir=None):
    """The 9,000 CelebA training faces, (N, 64, 64, 3) uint8 RGB, from the train shards only."""
    data_dir = data_dir or default_data_dir()
    shards = sorted(glob.glob(os.path.join(data_dir, "faces64_0*.npz")))
    if not shards:
        raise FileNotFoundError(f"no face shards faces64_0*.npz in {data_dir} "
                                "(set --data-dir or $REGEN_DATA)")
    images = np.concatenate([load_npz(s, ["images"])["images"] for s in shards])
    return Dataset("faces", images, flip=True)


def held_out_samples(dataset, data_dir, n):
    """(n, H, W, C) uint8 images no model trains on: MNIST test digits (three of each
    class, in order, at most 30) or the faces of faces64_val (n=None: all 500).
    None for other datasets."""
    if dataset == "mnist":
        test = load_mnist(data_dir, split="test")
        picks = np.concatenate([np.flatnonzero(test.labels == c)[:3] for c in range(10)])[:n]
        return test.images[np.sort(picks)]
    if dataset == "faces":
        path = os.path.join(data_dir or default_data_dir(), "faces64_val.npz")
        return load_npz(path, ["images"])["images"][:n]
    return None


def _center_square(img):
    w, h = img.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    return img.crop((left, top, left + side, top + side))


def load_folder(path, size=64, channels=3):
    """Every image under `path` (recursively), centre-cropped and resized to size x size.

    Unreadable files are skipped with a warning; a folder with no readable
    image is an error. Returns (N, size, size, channels) uint8.
    """
    if not os.path.isdir(path):
        raise FileNotFoundError(f"image folder not found: {path}")
    files = sorted(f for f in glob.glob(os.path.join(path, "**", "*"), recursive=True)
                   if f.lower().endswith(IMAGE_SUFFIXES))
    mode = "RGB" if channels == 3 else "L"
    images = []
    for f in files:
        try:
            with Image.open(f) as img:
                img = _center_square(img.convert(mode)).resize((size, size), Image.BICUBIC)
                images.append(np.asarray(img).reshape(size, size, channels))
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            warnings.warn(f"skipping unreadable image {f}: {exc}")
    if not images:
        raise ValueError(f"no readable images in {path} (looked for {', '.join(IMAGE_SUFFIXES)})")
    return Dataset(os.path.basename(os.path.normpath(path)), np.stack(images), flip=channels == 3)


def load_dataset(spec, data_dir=None, size=64):
    """`spec` is 'mnist', 'faces' or 'folder:PATH'."""
    if spec == "mnist":
        return load_mnist(data_dir)
    if spec == "faces":
        return load_faces(data_dir)
    if spec.startswith("folder:"):
        return load_folder(spec[len("folder:"):], size=size)
    raise ValueError(f"unknown dataset {spec!r}: use mnist, faces or folder:PATH")


def subset(ds, share, seed=0):
    """The first `share` (0, 1] of `ds` in a fixed random order, a share of every
    class for labelled data, so that a smaller training set keeps the classes'
    balance. The same share and seed always give the same images."""
    if not 0 < share <= 1:
        raise ValueError(f"the data share must be in (0, 1], not {share}")
    if share == 1:
        return ds
    rng = np.random.default_rng(seed)
    groups = [np.arange(len(ds.images))] if ds.labels is None else \
        [np.flatnonzero(ds.labels == c) for c in np.unique(ds.labels)]
    keep = np.sort(np.concatenate([rng.permutation(g)[:max(1, round(share * len(g)))] for g in groups]))
    labels = None if ds.labels is None else ds.labels[keep]
    return dataclasses.replace(ds, images=ds.images[keep], labels=labels)


def to_unit_range(images):
    """uint8 [0, 255] -> float32 [-1, 1]."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def make_pipeline(ds, batch_size, seed=0):
    """Endless shuffled batches: (images (B, H, W, C) float32 in [-1, 1], labels (B,) int32).

    Labels are zeros for unlabelled data. Partial batches are dropped so every
    step sees the same batch size.
    """
    labels = ds.labels if ds.labels is not None else np.zeros(len(ds.images), np.int32)
    pipe = tf.data.Dataset.from_tensor_slices((ds.images, labels))
    pipe = pipe.shuffle(min(len(ds.images), 20000), seed=seed, reshuffle_each_iteration=True)
    pipe = pipe.repeat().batch(batch_size, drop_remainder=True)

    def prepare(x, y):
        x = to_unit_range(x)
        if ds.flip:
            flip = tf.random.uniform([tf.shape(x)[0], 1, 1, 1]) < 0.5
            x = tf.where(flip, x[:, :, ::-1, :], x)
        return x, y

    return pipe.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
