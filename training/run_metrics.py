"""--metrics-every: the judge's metrics of a training run's samples, written to
metrics.csv as it trains (MNIST; see `training.digit_metrics` for what each column is)."""
import time

import numpy as np
import tensorflow as tf

from training import digit_metrics, reporting

METRICS_SAMPLES = 1000


class MetricsWriter:
    """--metrics-every: called after every step with that step's values; every
    `every` steps (and at the last) writes one row of metrics.csv: the mean of the
    step values since the previous row, the training seconds so far (sample grids
    and checkpoints included, the metrics themselves not), and the judge's
    metrics of the EMA G's samples from a fixed seed (`training.digit_metrics`)."""

    def __init__(self, gan, run_dir, every, last_step, start_step, data_dir=None):
        self.gan, self.every, self.last_step = gan, every, last_step
        self.judge = digit_metrics.DigitMetrics(data_dir)
        conditional = gan.cfg.arch == "acgan"    # InfoGAN's categorical code is unsupervised
        self.requested = np.arange(METRICS_SAMPLES) % gan.cfg.num_classes if conditional else None
        tf.random.set_seed(1234)
        self.z = gan.sample_latent(METRICS_SAMPLES, self.requested).numpy()
        columns = ("step", "train_seconds", "d_loss", "g_loss", "d_acc", *digit_metrics.COLUMNS) + \
            (("judge_requested",) if conditional else ())
        self.log = reporting.RunLog(run_dir, columns, start_step=start_step, name="metrics.csv")
        previous = reporting.last_row(self.log.path)     # after the rows past the checkpoint are dropped
        self.seconds = previous["train_seconds"] if previous else 0.0
        self.sums, self.count, self.mark = {}, 0, time.time()

    def __call__(self, step, values):
        for k in ("d_loss", "g_loss", "d_acc"):
            self.sums[k] = self.sums.get(k, 0.0) + values[k]
        self.count += 1
        if step % self.every and step != self.last_step:
            return
        self.seconds += time.time() - self.mark
        images = np.concatenate([self.gan.ema_generator(self.z[i:i + 500], training=False).numpy()
                                 for i in range(0, len(self.z), 500)])
        row = {"train_seconds": self.seconds, **{k: v / self.count for k, v in self.sums.items()},
               **self.judge(images, self.requested)}
        self.log.write(step, row)
        self.log.flush()
        self.sums, self.count, self.mark = {}, 0, time.time()

    def close(self):
        self.log.close()
