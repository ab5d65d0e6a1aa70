"""The Fréchet distance between two sets of features, the metric behind FID: the
distance between Gaussians fitted to each set. Which network gives the features is
the caller's (the face network for faces, the digit judge for digits)."""
import numpy as np


def _sqrtm_psd(m):
    """The square root of a symmetric positive semi-definite matrix."""
    w, v = np.linalg.eigh((m + m.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def gaussian(features):
    """(N, F) features -> (mean (F,), covariance (F, F)), float64."""
    f = np.asarray(features, np.float64)
    return f.mean(0), np.cov(f, rowvar=False)


def frechet_from_stats(a, b):
    """Fréchet distance between Gaussians a = (mu_a, S_a) and b = (mu_b, S_b):
    |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2)."""
    (mu_a, s_a), (mu_b, s_b) = a, b
    root_a = _sqrtm_psd(s_a)
    cross = _sqrtm_psd(root_a @ s_b @ root_a)
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2 * np.trace(cross))


def frechet_distance(a, b):
    """Fréchet distance between feature sets a (N, F) and b (M, F)."""
    return frechet_from_stats(gaussian(a), gaussian(b))
