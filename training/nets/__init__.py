"""The networks the trainers are built from.

`DISCRIMINATORS` is the table of D kinds (`--d`). Each kind's builder takes
(cfg, heads, critic) and returns a Keras model image (B, H, W, C) in [-1, 1] ->
[score (B, 1), *one output per head, in the order of `heads`] (the score alone
if there are no heads). The score is a logit, or with critic=True an unbounded
critic score (WGAN-GP). A kind also names the config fields only it reads
(`D_OPTIONS` holds each one's "off" value): any other kind refuses them.
A new D kind is one builder and one line here.
"""
from typing import Callable, NamedTuple


class Head(NamedTuple):
    """An extra output of D: `units` values per image; `categorical` if they are
    the logits of a class (ACGAN's class, InfoGAN's categorical code), not values
    read off directly (InfoGAN's continuous codes)."""
    units: int
    categorical: bool = True


def _conv(cfg, heads=None, critic=False):
    from training.nets.dcgan import build_discriminator
    return build_discriminator(cfg, heads)   # a Dense logit is already an unbounded critic


def _capsule(cfg, heads=None, critic=False):
    from training.nets.capsule import build_capsule_heads_discriminator
    return build_capsule_heads_discriminator(cfg, heads, critic=critic)


class DKind(NamedTuple):
    build: Callable
    options: tuple = ()   # the config fields only this kind reads (keys of D_OPTIONS)


# field -> its "off" value. d_border (--d-border): reflect the input by this many
# pixels first, so the capsule D's unpadded 9x9 convolutions see the edge (the conv
# D pads its convolutions, so it has no use for it).
D_OPTIONS = {"d_border": 0}
DISCRIMINATORS = {"conv": DKind(_conv), "capsule": DKind(_capsule, ("d_border",))}
D_ARCHS = tuple(DISCRIMINATORS)


def _kind(cfg):
    if cfg.d_arch not in DISCRIMINATORS:
        raise ValueError(f"unknown D {cfg.d_arch!r}: use one of {', '.join(D_ARCHS)}")
    return DISCRIMINATORS[cfg.d_arch]


def foreign_options(cfg):
    """The per-kind options set on cfg (not off) that cfg.d_arch's kind does not read."""
    own = _kind(cfg).options
    return [name for name, off in D_OPTIONS.items() if name not in own and getattr(cfg, name) != off]


def drop_foreign_options(cfg):
    """Turns off the options cfg.d_arch does not read (say, a capsule D's border
    carried by --init-from when --d conv replaces that D); returns cfg."""
    for name in foreign_options(cfg):
        setattr(cfg, name, D_OPTIONS[name])
    return cfg


def build_d(cfg, heads=None, critic=False):
    """cfg.d_arch's D with these heads (dict name -> Head)."""
    kind = _kind(cfg)
    foreign = foreign_options(cfg)
    if foreign:
        owners = {name: [k for k, v in DISCRIMINATORS.items() if name in v.options] for name in foreign}
        raise ValueError("; ".join(f"{name} is the option of the {'/'.join(owners[name])} D, not of the {cfg.d_arch} D"
                                   for name in foreign))
    return kind.build(cfg, heads, critic)
