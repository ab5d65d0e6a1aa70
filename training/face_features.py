"""A face feature network for the Fréchet distance, trained here (no downloaded weights).

FID needs an ImageNet Inception network, which cannot be downloaded here. This
is the stand-in: a small convolutional encoder trained on the 9,000 training
faces only (never on faces64_val), by contrastive learning (SimCLR, Chen et al.
2020): two random views of each face (flip, shift, colour, cutout) are pulled
together in feature space and pushed away from the other faces of the batch.
Its features then describe what a face looks like rather than where its pixels
are, and a Fréchet distance in them compares two sets of faces.

Frozen and committed at `models/judges/faces_features_v{VERSION}.weights.h5`.
A distance is only comparable with one computed by the same version, so every
report records it; retraining means a new VERSION.

    python -m training.face_features            # train version VERSION (a few minutes)

Input: (B, 64, 64, 3) float32 RGB in [-1, 1]; features: (B, FEATURES) float32.
"""
import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

from training import augment, data, frechet  # noqa: E402
from training.cli import command  # noqa: E402
from training.frechet import frechet_distance  # noqa: E402,F401  (evaluate and the tests use it from here)

VERSION = 1
FEATURES = 256
TEMPERATURE = 0.2
JUDGES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models", "judges")
DEFAULT_PATH = os.path.join(JUDGES_DIR, f"faces_features_v{VERSION}.weights.h5")


def build_features():
    """Four stride-2 conv stages (64 -> 4 px), then global average pooling: (B, FEATURES)."""
    return keras.Sequential([
        keras.Input((64, 64, 3)),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.Conv2D(32, 4, strides=2, padding="same", activation="relu"),
        layers.Conv2D(64, 4, strides=2, padding="same", activation="relu"),
        layers.Conv2D(128, 4, strides=2, padding="same", activation="relu"),
        layers.Conv2D(FEATURES, 4, strides=2, padding="same", activation="relu"),
        layers.GlobalAveragePooling2D(),
    ], name=f"face_features_v{VERSION}")


def random_view(x):
    """A random view of faces x (B, 64, 64, 3) in [-1, 1]: flip, shift, colour, a small cutout."""
    flip = tf.random.uniform([tf.shape(x)[0], 1, 1, 1]) < 0.5
    x = tf.where(flip, x[:, :, ::-1], x)
    x = augment.translation(x)
    x = augment.color(x)
    return augment.cutout(x, ratio=0.3)


def contrastive_loss(a, b, temperature=TEMPERATURE):
    """NT-Xent over two views' projections a, b (B, P): each row's positive is its
    other view; the 2B - 2 other rows are its negatives."""
    z = tf.math.l2_normalize(tf.concat([a, b], 0), axis=1)
    n = tf.shape(a)[0]
    sim = tf.matmul(z, z, transpose_b=True) / temperature
    sim -= 1e9 * tf.eye(2 * n)                          # a row is not its own negative
    target = tf.concat([tf.range(n, 2 * n), tf.range(n)], 0)
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(target, sim))


def train_features(out_path=DEFAULT_PATH, data_dir=None, steps=1500, batch=96, seed=0, log_every=100):
    """Train on the training faces and save the encoder's weights; returns (encoder, last loss)."""
    keras.utils.set_random_seed(seed)
    faces = data.load_faces(data_dir)
    images = tf.data.Dataset.from_tensor_slices(faces.images).shuffle(len(faces.images), seed=seed).repeat()
    images = images.batch(batch, drop_remainder=True).map(data.to_unit_range).prefetch(2)
    encoder = build_features()
    head = keras.Sequential([keras.Input((FEATURES,)), layers.Dense(FEATURES, activation="relu"),
                             layers.Dense(128)], name="projection_head")
    opt = keras.optimizers.Adam(1e-3)
    variables = encoder.trainable_weights + head.trainable_weights

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            loss = contrastive_loss(head(encoder(random_view(x), training=True)),
                                    head(encoder(random_view(x), training=True)))
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    loss = None
    for i, x in enumerate(images.take(steps), 1):
        loss = float(step(x))
        if i % log_every == 0 or i == steps:
            print(f"step {i}/{steps}: contrastive loss {loss:.4f}", flush=True)
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    encoder.save_weights(out_path)
    return encoder, loss


def load_features(path=DEFAULT_PATH):
    """The committed encoder; FileNotFoundError if it has not been trained."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"no face feature network at {path}: run python -m training.face_features")
    encoder = build_features()
    encoder.load_weights(path)
    return encoder


def embed(encoder, images, batch=250):
    """Faces (N, 64, 64, 3), uint8 or float32 in [-1, 1] -> features (N, FEATURES) float64."""
    x = np.asarray(images)
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / 127.5 - 1.0
    return np.concatenate([encoder(x[i:i + batch], training=False).numpy() for i in range(0, len(x), batch)]
                          ).astype(np.float64)


class FaceMetrics:
    """What `training.train --metrics-every` records for a face run: the Fréchet
    distance, in this version's features, between the samples and faces64_val
    (the 500 held-out faces), the figure `training.evaluate` reports."""

    SAMPLES = 2000
    COLUMNS = (f"face_fd_v{VERSION}",)
    BEST = COLUMNS[0]

    def __init__(self, data_dir=None):
        self.net = load_features()
        held = data.held_out_samples("faces", data_dir, None)
        self.reference_size = len(held)
        self.reference = frechet.gaussian(embed(self.net, held))

    def distance(self, images):
        """Faces (N, 64, 64, 3), uint8 or float32 in [-1, 1] (`embed`) -> their FD to faces64_val."""
        return frechet.frechet_from_stats(frechet.gaussian(embed(self.net, images)), self.reference)

    def __call__(self, images, requested=None):
        """The run-metrics reader's form of `distance`: {column: float}."""
        return {self.COLUMNS[0]: self.distance(images)}


@command
def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m training.face_features",
                                description=f"Train version {VERSION} of the face feature network.")
    p.add_argument("--out", default=DEFAULT_PATH)
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--force", action="store_true", help="replace an existing file at --out")
    args = p.parse_args(argv)
    if os.path.exists(args.out) and not args.force:
        p.error(f"{args.out} exists: every face_fd_v{VERSION} figure was computed with it. For a new network "
                f"raise VERSION in training/face_features.py (figures of two versions do not compare), "
                f"or pass --out elsewhere, or --force")
    _, loss = train_features(args.out, args.data_dir, args.steps)
    print(f"face features v{VERSION}: contrastive loss {loss:.4f}; weights in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
