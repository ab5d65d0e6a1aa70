"""The networks the trainers are built from.

`DISCRIMINATORS` is the table of D kinds (`--d`): each builder takes
(cfg, heads, critic) and returns a Keras model image (B, H, W, C) in [-1, 1] ->
[score (B, 1), *one output per head, in the order of `heads`] (the score alone
if there are no heads). The score is a logit, or with critic=True an unbounded
critic score (WGAN-GP). A new D kind is one builder and one line here.
"""
from typing import NamedTuple


class Head(NamedTuple):
    """An extra output of D: `units` values per image; `categorical` if they are
    the logits of a class (ACGAN's class, InfoGAN's categorical code), not values
    read off directly (InfoGAN's continuous codes)."""
    units: int
    categorical: bool = True


def _conv(cfg, heads=None, critic=False):
    from training.nets.dcgan import build_discriminator
    if cfg.d_border:   # its padded convolutions already see the edge
        raise ValueError("d_border (--d-border) is the capsule D's option; the conv D pads its convolutions")
    return build_discriminator(cfg, heads)   # a Dense logit is already an unbounded critic


def _capsule(cfg, heads=None, critic=False):
    from training.nets.capsule import build_capsule_heads_discriminator
    return build_capsule_heads_discriminator(cfg, heads, critic=critic)


DISCRIMINATORS = {"conv": _conv, "capsule": _capsule}
D_ARCHS = tuple(DISCRIMINATORS)


def build_d(cfg, heads=None, critic=False):
    """cfg.d_arch's D with these heads (dict name -> Head)."""
    if cfg.d_arch not in DISCRIMINATORS:
        raise ValueError(f"unknown D {cfg.d_arch!r}: use one of {', '.join(D_ARCHS)}")
    return DISCRIMINATORS[cfg.d_arch](cfg, heads, critic)
