"""GAN trainers, one per architecture: the table `TRAINERS`, `default_config` for a
new run of one, and `build_gan(cfg)` to make one.

A new GAN is one new module with a `GAN` subclass (see `base.GAN` for what it
declares) and one line in `TRAINERS`.
"""
import dataclasses

import keras

from training.config import ModelConfig
from training.gans.acgan import ACGAN
from training.gans.dcgan import DCGAN, CapsuleGAN
from training.gans.infogan import InfoGAN
from training.gans.wgan_gp import WGANGP
from training.nets.dcgan import build_generator
from training.nets.resnet import build_resnet_generator

TRAINERS = {t.name: t for t in (DCGAN, CapsuleGAN, WGANGP, ACGAN, InfoGAN)}
ARCHS = tuple(TRAINERS)
GENERATORS = {"dcgan": build_generator, "resnet": build_resnet_generator}
G_ARCHS = tuple(GENERATORS)


def trainer_for(arch):
    if arch not in TRAINERS:
        raise ValueError(f"unknown arch {arch!r}: use one of {', '.join(ARCHS)}")
    return TRAINERS[arch]


def default_config(arch, image_shape, num_classes=0):
    """The project's defaults for an architecture and image size (num_classes: the
    dataset's, 0 if unlabelled). 28x28 images get two upsampling rounds from 7x7,
    64x64 get three from 8x8."""
    trainer = trainer_for(arch)
    small = image_shape[0] <= 32
    cfg = ModelConfig(arch=arch, image_shape=tuple(image_shape),
                      g_filters=(128, 64) if small else (128, 64, 32),
                      d_filters=(64, 128) if small else (64, 128, 256))
    return trainer.configure(cfg, num_classes)


def build_gan(cfg, lr=2e-4, beta_1=0.5, d_lr=None, diffaugment=(), **options):
    """A compiled GAN for `cfg`, with Adam(lr, beta_1) for G and Adam(d_lr or lr, beta_1) for D
    (a faster D is the two time-scale update rule, TTUR), beta_2 the trainer's.
    `options` are fields of the trainer's `Options` (DCGAN: top_k, r1_gamma,
    class_entropy); a field it lacks is refused. `diffaugment` is a DiffAugment
    policy (op names of `training.augment`) for every image D sees in training."""
    trainer = trainer_for(cfg.arch)
    unknown = sorted(set(options) - {f.name for f in dataclasses.fields(trainer.Options)})
    if unknown:
        raise ValueError(f"the {cfg.arch} trainer has no {unknown[0].replace('_', '-')} setting")
    if cfg.d_class_head and not trainer.reads_class_head:
        raise ValueError(f"the {cfg.arch} trainer has no use for D's class head")
    if cfg.arch == CapsuleGAN.name and cfg.d_arch != "conv":
        raise ValueError("the capsule arch has its own capsule D: for another D kind use --arch dcgan --d ...")
    if cfg.g_mixture and cfg.g_arch != "dcgan":
        raise ValueError("the latent gate (g_mixture) is for the dcgan G")
    if cfg.g_mixture and trainer.conditional:
        raise ValueError(f"the latent gate (g_mixture) is for an unconditional G, not {cfg.arch}'s")
    gan = trainer(GENERATORS[cfg.g_arch](cfg), trainer.build_discriminator(cfg), cfg, options=trainer.Options(**options))
    gan.diffaugment = tuple(diffaugment)
    gan.compile(d_optimizer=keras.optimizers.Adam(d_lr or lr, beta_1=beta_1, beta_2=trainer.beta_2),
                g_optimizer=keras.optimizers.Adam(lr, beta_1=beta_1, beta_2=trainer.beta_2))
    return gan
