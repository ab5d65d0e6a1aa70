"""The runner-up completions a search offers besides its result: the best of
the candidates that left the search (at each halving, and at the end), each
distinct from the result and from one another.

Images: (H, W, C) float in [-1, 1] unless said; masks (H, W), 1 = known.
"""
import numpy as np

from app.engine.blend import poisson_blend
from app.engine.imageio import to_uint8

ALTERNATIVES = 4            # distinct runner-up completions a Result offers
DISTINCT = 0.1              # two alternatives differ by a mean |difference| (in [-1, 1]) inside the hole
Z_DISTINCT = 0.5            #   of at least DISTINCT, or their z by an RMS distance of at least Z_DISTINCT


def compose(image, fill, mask):
    """The known pixels of image, and fill in the hole."""
    known = mask[..., None]
    return known * image + (1.0 - known) * fill


def leaving(total, images, z, staying=()):
    """[(total loss, G(z) (H, W, C) in [-1, 1], z (d,))] of the candidates not in `staying`.
    total: (K,) losses; images: (K, H, W, C) tensor; z: (K, d) tensor."""
    fills, zs, staying = images.numpy(), z.numpy(), set(int(i) for i in staying)
    return [(float(total[i]), fills[i], zs[i]) for i in range(len(total)) if i not in staying]


def choose(pool, best, image, mask, blend, count=ALTERNATIVES):
    """Up to `count` runner-up completions, best loss first, each distinct from the
    result and from each other (DISTINCT inside the hole, or Z_DISTINCT in z):
    [(image uint8, loss)], Poisson-blended if `blend`. pool: `leaving`'s entries;
    best: (fill, z) of the result."""
    hole = mask < 0.5

    def distinct(a, b):
        return (np.abs(a[0][hole] - b[0][hole]).mean() >= DISTINCT
                or np.sqrt(np.mean((a[1] - b[1]) ** 2)) >= Z_DISTINCT)

    chosen, out = [best], []
    for loss, fill, z in sorted(pool, key=lambda item: item[0]):
        if len(out) >= count:
            break
        if all(distinct((fill, z), other) for other in chosen):
            chosen.append((fill, z))
            raw = to_uint8(compose(image, fill, mask))
            out.append((poisson_blend(to_uint8(fill), raw, mask) if blend else raw, loss))
    return out
