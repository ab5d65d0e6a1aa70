"""A small MNIST classifier used as a judge: does a generated or completed digit
read as a digit, and as which one?

Trained on the MNIST train split in about a minute; the weights are committed at
`models/judges/mnist.weights.h5` so benchmarks and evaluation need no training.
Input: (B, 28, 28, 1) float32 in [-1, 1]; output: class probabilities (B, 10).
"""
import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

from training import data  # noqa: E402
from training.cli import command  # noqa: E402

DEFAULT_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            "models", "judges", "mnist.weights.h5")


def build_judge():
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.Conv2D(64, 3, strides=2, padding="same", activation="relu"),
        layers.Flatten(),
        layers.Dropout(0.4),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ], name="mnist_judge")


def train_judge(out_path=DEFAULT_PATH, data_dir=None, epochs=6, seed=0):
    """Train on MNIST train, report test accuracy, save the weights; returns (model, accuracy)."""
    keras.utils.set_random_seed(seed)
    train, test = data.load_mnist(data_dir, "train"), data.load_mnist(data_dir, "test")
    scale = lambda x: x.astype("float32") / 127.5 - 1.0  # noqa: E731
    judge = build_judge()
    judge.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    judge.fit(scale(train.images), train.labels, batch_size=128, epochs=epochs, verbose=2)
    accuracy = judge.evaluate(scale(test.images), test.labels, verbose=0)[1]
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    judge.save_weights(out_path)
    return judge, accuracy


def load_judge(path=DEFAULT_PATH):
    """The committed judge; FileNotFoundError if it has not been trained."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"no MNIST judge at {path}: run python -m training.judge")
    judge = build_judge()
    judge.load_weights(path)
    return judge


def judge_digits(judge, images):
    """(N, 28, 28, 1) uint8 or [-1, 1] float -> (labels (N,), confidence (N,))."""
    x = np.asarray(images)
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / 127.5 - 1.0
    probs = judge.predict(x, batch_size=256, verbose=0)
    return probs.argmax(1), probs.max(1)


@command
def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m training.judge", description="Train the MNIST judge.")
    p.add_argument("--out", default=DEFAULT_PATH)
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--force", action="store_true", help="replace an existing file at --out")
    args = p.parse_args(argv)
    if os.path.exists(args.out) and not args.force:
        p.error(f"{args.out} exists: every judge figure in BENCHMARKS.md was scored with it; pass --out "
                f"elsewhere, or --force to replace it (and rerun those benchmarks)")
    _, accuracy = train_judge(args.out, args.data_dir, args.epochs)
    print(f"judge test accuracy {accuracy:.4f}; weights in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
