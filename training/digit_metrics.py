"""How good a digit G is, read by the committed MNIST judge (`training.judge`):
what `training.train --metrics-every` records during a run and `training.compare`
plots.

- `judge_confident`: the share of samples the judge reads with confidence > 0.9;
- `judge_fd`: the Fréchet distance between the samples and the MNIST test digits
  in the judge's last hidden layer (128 features), an FID for digits;
- `hist_0` … `hist_9`: the share of samples read as each digit (mode collapse
  shows as a spike);
- `judge_requested` (class-conditional G only): the share read as the class asked for.
"""
import keras
import numpy as np

from training import data, frechet
from training.judge import load_judge

CONFIDENT = 0.9
DIGITS = 10
COLUMNS = ("judge_confident", "judge_fd", *(f"hist_{d}" for d in range(DIGITS)))


class DigitMetrics:
    """The judge with its feature layer exposed, and the test digits' feature statistics."""

    SAMPLES = 1000
    COLUMNS = COLUMNS
    BEST = "judge_fd"

    def __init__(self, data_dir=None, reference=10000, batch=500):
        judge = load_judge()
        self.net = keras.Model(judge.inputs[0], [judge.layers[-2].output, judge.outputs[0]])
        self.batch = batch
        test = data.load_mnist(data_dir, "test").images[:reference]
        self.reference = frechet.gaussian(self.read(data.to_unit_range(test).numpy())[0])

    def read(self, images):
        """Digits (N, 28, 28, 1) float32 in [-1, 1] -> (features (N, 128), probabilities (N, 10))."""
        outs = [self.net(images[i:i + self.batch], training=False) for i in range(0, len(images), self.batch)]
        return (np.concatenate([o[0].numpy() for o in outs]).astype(np.float64),
                np.concatenate([o[1].numpy() for o in outs]))

    def __call__(self, images, requested=None):
        """The metrics of `images` (N, 28, 28, 1) in [-1, 1]; `requested` (N,): the
        classes a conditional G was asked for, if any. Returns {column: float}."""
        features, probs = self.read(np.asarray(images, np.float32))
        labels = probs.argmax(1)
        hist = np.bincount(labels, minlength=DIGITS) / len(labels)
        values = {"judge_confident": float((probs.max(1) > CONFIDENT).mean()),
                  "judge_fd": frechet.frechet_from_stats(frechet.gaussian(features), self.reference),
                  **{f"hist_{d}": float(hist[d]) for d in range(DIGITS)}}
        if requested is not None:
            values["judge_requested"] = float((labels == np.asarray(requested)).mean())
        return values
