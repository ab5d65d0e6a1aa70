"""DCGAN generator and convolutional discriminator (the project's original nets).

G: vector (B, cfg.g_input_dim) float32 -> image (B, H, W, C) float32 in [-1, 1].
D: image (B, H, W, C) in [-1, 1] -> logit (B, 1), plus optional auxiliary heads.

Under a mixed-precision policy (training `--precision bfloat16`) the hidden layers
compute in bfloat16 and the output layers in float32, so every loss, and what the
export freezes, stays float32.
"""
import keras
from keras import layers


# Scales the gate's logits: glorot-initialised logits of z ~ U(-1, 1)^100 have a std
# of about 0.75, so x10 makes one component dominate almost everywhere from the start.
GATE_SHARPNESS = 10.0


def build_generator(cfg):
    """Dense to a (H/2^r, W/2^r, cfg.g_start_filters) map, then r rounds of upsample +
    3x3 conv + BN + ReLU with cfg.g_filters, then a 3x3 conv to C channels + tanh.

    With cfg.g_mixture = M > 0, a gate also splits the latent cube into M soft
    regions: g = softmax(GATE_SHARPNESS * Dense_M(z)) (B, M), and the Dense map
    gets g @ E added, E being one learned (H/2^r * W/2^r * width) map per
    component. A continuous z can only blend two digits where G's output
    moves smoothly from one to the other; the gate lets G change component
    over a thin band of z instead, so fewer samples land between classes
    (the "disconnected manifold" problem, Khayatkhoei et al. 2018). G stays a
    smooth function of z, so the engine's gradient search still works. The
    gate's layers are named "mixture_*" and E starts at zero, so a gate added
    to a trained G (`warm_start.graft_generator`) leaves its output unchanged.
    """
    h, w, c = cfg.image_shape
    rounds = len(cfg.g_filters)
    start_h, start_w = h // 2 ** rounds, w // 2 ** rounds
    if start_h * 2 ** rounds != h or start_w * 2 ** rounds != w:
        raise ValueError(f"image {h}x{w} is not divisible by 2^{rounds}")
    z = keras.Input((cfg.g_input_dim,), name="z")
    width = cfg.g_start_filters
    x = layers.Dense(start_h * start_w * width)(z)
    if cfg.g_mixture:
        gate = layers.Dense(cfg.g_mixture, name="mixture_gate")(z)
        gate = layers.Softmax(name="mixture_softmax")(layers.Rescaling(GATE_SHARPNESS, name="mixture_sharpness")(gate))
        embed = layers.Dense(start_h * start_w * width, use_bias=False, kernel_initializer="zeros",
                             name="mixture_embedding")(gate)
        x = layers.Add(name="mixture_add")([x, embed])
    x = layers.Reshape((start_h, start_w, width))(x)
    x = layers.BatchNormalization(momentum=0.9)(x)
    x = layers.ReLU()(x)
    for filters in cfg.g_filters:
        x = layers.UpSampling2D()(x)
        x = layers.Conv2D(filters, 3, padding="same")(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.ReLU()(x)
    img = layers.Conv2D(c, 3, padding="same", activation="tanh", dtype="float32")(x)
    return keras.Model(z, img, name="generator")


def build_trunk(cfg, name="trunk"):
    """Stride-2 convolutions with LeakyReLU(0.2) and no pooling: image -> flat features."""
    img = keras.Input(cfg.image_shape, name="image")
    x = img
    for filters in cfg.d_filters:
        x = layers.Conv2D(filters, 4, strides=2, padding="same")(x)
        x = layers.LeakyReLU(0.2)(x)
    x = layers.Flatten()(x)
    return keras.Model(img, x, name=name)


def build_discriminator(cfg, aux_heads=None):
    """D with a logit output (B, 1) and, for ACGAN/InfoGAN, extra named heads.

    aux_heads: dict name -> `training.nets.Head`; each head is a Dense of head.units on the shared features.
    The model's outputs are [logit, *heads in dict order].
    """
    trunk = build_trunk(cfg)
    img = keras.Input(cfg.image_shape, name="image")
    feats = layers.Dropout(cfg.dropout)(trunk(img))
    outputs = [layers.Dense(1, name="logit", dtype="float32")(feats)]
    for name, head in (aux_heads or {}).items():
        outputs.append(layers.Dense(head.units, name=name, dtype="float32")(feats))
    return keras.Model(img, outputs if len(outputs) > 1 else outputs[0], name="discriminator")
