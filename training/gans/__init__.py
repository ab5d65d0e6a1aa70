"""GAN trainers, one per architecture, and `build_gan(cfg)` to make one."""
import keras

from training.gans.acgan import ACGAN
from training.gans.dcgan import DCGAN, CapsuleGAN
from training.gans.infogan import InfoGAN
from training.gans.wgan_gp import WGANGP
from training.nets.capsule import build_capsule_discriminator
from training.nets.dcgan import build_discriminator, build_generator


def _discriminator(cfg):
    if cfg.arch == "capsule":
        return build_capsule_discriminator(cfg)
    if cfg.arch == "acgan":
        return build_discriminator(cfg, {"class_logits": cfg.num_classes})
    if cfg.arch == "infogan":
        return build_discriminator(cfg, {"q_cat": cfg.num_classes, "q_cont": cfg.num_continuous})
    return build_discriminator(cfg)


TRAINERS = {"dcgan": DCGAN, "capsule": CapsuleGAN, "wgan-gp": WGANGP,
            "acgan": ACGAN, "infogan": InfoGAN}


def build_gan(cfg, lr=2e-4, beta_1=0.5, d_lr=None, top_k=1.0, r1_gamma=0.0):
    """A compiled GAN for `cfg`, with Adam(lr, beta_1) for G and Adam(d_lr or lr, beta_1) for D
    (a faster D is the two time-scale update rule, TTUR). `top_k` < 1 trains G on the
    share of each batch D rates most real, and `r1_gamma` > 0 adds the R1 penalty to
    D's loss, for the trainers that have a `top_k` and an `r1_gamma`."""
    if not 0.0 < top_k <= 1.0:
        raise ValueError(f"top_k must be in (0, 1], got {top_k}")
    if r1_gamma < 0:
        raise ValueError(f"r1_gamma must be >= 0, got {r1_gamma}")
    trainer = TRAINERS[cfg.arch]
    if top_k < 1.0 and not hasattr(trainer, "top_k"):
        raise ValueError(f"the {cfg.arch} trainer has no top-k training")
    if r1_gamma > 0 and not hasattr(trainer, "r1_gamma"):
        raise ValueError(f"the {cfg.arch} trainer has no R1 penalty")
    gan = trainer(build_generator(cfg), _discriminator(cfg), cfg)
    if top_k < 1.0:
        gan.top_k = top_k
    if r1_gamma > 0:
        gan.r1_gamma = r1_gamma
    beta_2 = 0.9 if cfg.arch == "wgan-gp" else 0.999
    gan.compile(d_optimizer=keras.optimizers.Adam(d_lr or lr, beta_1=beta_1, beta_2=beta_2),
                g_optimizer=keras.optimizers.Adam(lr, beta_1=beta_1, beta_2=beta_2))
    return gan
