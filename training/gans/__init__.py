"""GAN trainers, one per architecture, and `build_gan(cfg)` to make one."""
import keras

from training.gans.acgan import ACGAN
from training.gans.dcgan import DCGAN, CapsuleGAN
from training.gans.infogan import InfoGAN
from training.gans.wgan_gp import WGANGP
from training.nets.capsule import build_capsule_discriminator
from training.nets.dcgan import build_discriminator, build_generator
from training.nets.resnet import build_resnet_generator

GENERATORS = {"dcgan": build_generator, "resnet": build_resnet_generator}


def _discriminator(cfg):
    if cfg.arch == "capsule":
        return build_capsule_discriminator(cfg)
    if cfg.arch == "acgan":
        return build_discriminator(cfg, {"class_logits": cfg.num_classes})
    if cfg.arch == "infogan":
        return build_discriminator(cfg, {"q_cat": cfg.num_classes, "q_cont": cfg.num_continuous})
    if cfg.d_class_head:
        return build_discriminator(cfg, {"class_logits": cfg.d_class_head})
    return build_discriminator(cfg)


TRAINERS = {"dcgan": DCGAN, "capsule": CapsuleGAN, "wgan-gp": WGANGP,
            "acgan": ACGAN, "infogan": InfoGAN}


def build_gan(cfg, lr=2e-4, beta_1=0.5, d_lr=None, top_k=1.0, r1_gamma=0.0, class_entropy=0.0, diffaugment=()):
    """A compiled GAN for `cfg`, with Adam(lr, beta_1) for G and Adam(d_lr or lr, beta_1) for D
    (a faster D is the two time-scale update rule, TTUR). `top_k` < 1 trains G on the
    share of each batch D rates most real, `r1_gamma` > 0 adds the R1 penalty to
    D's loss, and `class_entropy` > 0 weighs the class-entropy terms of G's loss
    (needs `cfg.d_class_head`), for the trainers that have a `top_k`, an `r1_gamma`
    and a `class_entropy`. `diffaugment` is a DiffAugment policy (op names of
    `training.augment`) for every image D sees in training, for every trainer."""
    if not 0.0 < top_k <= 1.0:
        raise ValueError(f"top_k must be in (0, 1], got {top_k}")
    if r1_gamma < 0:
        raise ValueError(f"r1_gamma must be >= 0, got {r1_gamma}")
    if class_entropy < 0:
        raise ValueError(f"class_entropy must be >= 0, got {class_entropy}")
    trainer = TRAINERS[cfg.arch]
    options = {"top_k": (top_k, 1.0, "top-k training"), "r1_gamma": (r1_gamma, 0.0, "R1 penalty"),
               "class_entropy": (class_entropy, 0.0, "class-entropy term")}
    for attr, (value, off, what) in options.items():
        if value != off and not hasattr(trainer, attr):
            raise ValueError(f"the {cfg.arch} trainer has no {what}")
    if cfg.d_class_head and not hasattr(trainer, "class_entropy"):
        raise ValueError(f"the {cfg.arch} trainer has no use for D's class head")
    if class_entropy > 0 and not cfg.d_class_head:
        raise ValueError("the class-entropy term needs D's class head (cfg.d_class_head)")
    if cfg.g_mixture and cfg.g_arch != "dcgan":
        raise ValueError("the latent gate (g_mixture) is for the dcgan G")
    gan = trainer(GENERATORS[cfg.g_arch](cfg), _discriminator(cfg), cfg)
    for attr, (value, off, _) in options.items():
        if value != off:
            setattr(gan, attr, value)
    gan.diffaugment = tuple(diffaugment)
    beta_2 = 0.9 if cfg.arch == "wgan-gp" else 0.999
    gan.compile(d_optimizer=keras.optimizers.Adam(d_lr or lr, beta_1=beta_1, beta_2=beta_2),
                g_optimizer=keras.optimizers.Adam(lr, beta_1=beta_1, beta_2=beta_2))
    return gan
