"""The plain values that describe a GAN. Saved with every checkpoint so that a
run can be rebuilt and exported without guessing."""
import dataclasses
import json



@dataclasses.dataclass
class ModelConfig:
    arch: str = "dcgan"                # a trainer of training.gans.TRAINERS
    g_arch: str = "dcgan"              # training.gans.G_ARCHS: the origin's DCGAN G, or residual up-blocks + excitation
    image_shape: tuple = (64, 64, 3)   # (H, W, C); H = W = 28 or 64
    latent_dim: int = 100              # size of z, drawn from U(-1, 1)
    num_classes: int = 0               # ACGAN: classes G is conditioned on; InfoGAN: categorical code size
    num_continuous: int = 0            # InfoGAN: continuous codes, also U(-1, 1)
    g_start_filters: int = 128         # channels of the map G's Dense layer makes
    g_filters: tuple = (128, 64, 32)   # filters of each upsampling round, outermost last
    d_filters: tuple = (64, 128, 256)  # filters of each stride-2 conv of D
    d_arch: str = "conv"               # training.nets.D_ARCHS: the kind of D (conv, capsule), any trainer
    dropout: float = 0.2               # before D's final dense layer
    d_border: int = 0                  # capsule D: pixels of reflected border added around its input (0 = the origin's)
    d_class_head: int = 0              # DCGAN: classes an auxiliary head of D reads from real images (0 = none)
    g_mixture: int = 0                 # components of G's latent gate (0 = none), see nets.dcgan.build_generator

    @property
    def g_input_dim(self):
        """Size of the vector G consumes: z, then an ACGAN class one-hot, or InfoGAN's
        categorical one-hot and continuous codes."""
        return self.latent_dim + self.num_classes + self.num_continuous

    def to_json(self):
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, d):
        d = dict(d)
        for key in ("image_shape", "g_filters", "d_filters"):
            d[key] = tuple(d[key])
        return cls(**d)
