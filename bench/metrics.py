"""Image-quality metrics for the benchmarks. Images are uint8, (H, W, C).

PSNR uses the 0-255 range and is capped at PSNR_CAP dB, so identical images score
the cap instead of infinity (and averages stay finite).
"""
import numpy as np

PSNR_CAP = 100.0


def psnr(a, b, where=None):
    """PSNR in dB between uint8 images, over all pixels or those where `where` (H, W) is true."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if where is not None:
        a, b = a[where], b[where]
    mse = np.mean((a - b) ** 2)
    if mse == 0:
        return PSNR_CAP
    return float(min(PSNR_CAP, 10 * np.log10(255.0 ** 2 / mse)))


def l1(a, b, where=None):
    """Mean absolute difference in [0, 1] units, over `where` if given."""
    a, b = np.asarray(a, np.float64) / 255, np.asarray(b, np.float64) / 255
    if where is not None:
        a, b = a[where], b[where]
    return float(np.mean(np.abs(a - b)))


def ssim(a, b):
    """Structural similarity (scikit-image), averaged over channels."""
    from skimage.metrics import structural_similarity
    a, b = np.asarray(a), np.asarray(b)
    return float(structural_similarity(a, b, channel_axis=-1, data_range=255,
                                       win_size=min(7, a.shape[0] // 2 * 2 - 1)))


def scores(truth, completed, mask):
    """All metrics of one completion; mask (H, W), 1 = known."""
    hole = np.asarray(mask) < 0.5
    return {"psnr": psnr(truth, completed), "psnr_hole": psnr(truth, completed, hole),
            "ssim": ssim(truth, completed), "l1_hole": l1(truth, completed, hole)}
