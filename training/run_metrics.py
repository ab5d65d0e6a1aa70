"""--metrics-every: metrics of a training run's samples, written to metrics.csv as
it trains. Each dataset has its reader: MNIST the judge's reading
(`training.digit_metrics`), faces the Fréchet distance in the face features
(`training.face_features.FaceMetrics`). A reader has SAMPLES, COLUMNS and
reader(images, requested) -> {column: float}, and BEST, the column whose lowest
value marks the best row (the run's `best/` checkpoint)."""
import time

import numpy as np
import tensorflow as tf

from training import checkpoint, digit_metrics, face_features, reporting

READERS = {"mnist": digit_metrics.DigitMetrics, "faces": face_features.FaceMetrics}


class MetricsWriter:
    """--metrics-every: called after every step with that step's values; every
    `every` steps (and at the last) writes one row of metrics.csv: the mean of the
    step values since the previous row, the training seconds so far (sample grids
    and checkpoints included, the metrics themselves not), and the dataset's
    reader's metrics of the EMA G's samples from a fixed seed. It returns True
    for a row whose `reader.BEST` is the lowest so far (counting a resumed run's
    best checkpoint), `best` being that {column: value}; rows before `best_from`
    never are, and a best checkpoint before it is not counted."""

    def __init__(self, gan, run_dir, every, last_step, start_step, dataset="mnist", data_dir=None, best_from=0):
        if dataset not in READERS:
            raise ValueError(f"--metrics-every has no reader for {dataset}: it is for {', '.join(READERS)}")
        self.gan, self.every, self.last_step = gan, every, last_step
        self.reader = READERS[dataset](data_dir)
        n = self.reader.SAMPLES
        conditional = gan.cfg.arch == "acgan"    # InfoGAN's categorical code is unsupervised
        self.requested = np.arange(n) % gan.cfg.num_classes if conditional else None
        tf.random.set_seed(1234)
        self.z = gan.sample_latent(n, self.requested).numpy()
        columns = ("step", "train_seconds", "d_loss", "g_loss", "d_acc", *self.reader.COLUMNS) + \
            (("judge_requested",) if conditional else ())
        self.log = reporting.RunLog(run_dir, columns, start_step=start_step, name="metrics.csv")
        previous = reporting.last_row(self.log.path)     # after the rows past the checkpoint are dropped
        self.seconds = previous["train_seconds"] if previous else 0.0
        self.sums, self.count, self.mark = {}, 0, time.time()
        self.best_from = best_from
        self.best = checkpoint.best_metric(run_dir, start_step, best_from)

    def _improves(self, step, row):
        column = self.reader.BEST
        if step < self.best_from or not np.isfinite(row[column]) or \
                (self.best and row[column] >= self.best.get(column, np.inf)):
            return False
        self.best = {column: float(row[column])}
        return True

    def __call__(self, step, values):
        for k in ("d_loss", "g_loss", "d_acc"):
            self.sums[k] = self.sums.get(k, 0.0) + values[k]
        self.count += 1
        if step % self.every and step != self.last_step:
            return False
        self.seconds += time.time() - self.mark
        images = np.concatenate([self.gan.ema_generator(self.z[i:i + 500], training=False).numpy()
                                 for i in range(0, len(self.z), 500)])
        row = {"train_seconds": self.seconds, **{k: v / self.count for k, v in self.sums.items()},
               **self.reader(images, self.requested)}
        self.log.write(step, row)
        self.log.flush()
        self.sums, self.count, self.mark = {}, 0, time.time()
        return self._improves(step, row)

    def close(self):
        self.log.close()
