"""A residual generator with skip-layer excitation (`cfg.g_arch = "resnet"`).

G: vector (B, cfg.g_input_dim) float32 -> image (B, H, W, C) float32 in [-1, 1],
the same contract as `nets.dcgan.build_generator`, so D, the trainers, the export
and the engine do not change.

Each upsampling round is a residual up-block (BigGAN-style, without conditioning):
    main: BN, ReLU, 2x nearest upsample, 3x3 conv, BN, ReLU, 3x3 conv
    skip: 2x nearest upsample, 1x1 conv
and, from the second round on, skip-layer excitation (FastGAN, Liu et al. 2021):
each map gates the channels of the one 4x finer (at 64x64: 8x8 -> 32x32 and
16x16 -> 64x64), through pool-to-4x4, a conv to 1x1, LeakyReLU, 1x1 conv, sigmoid. The
coarse layout then steers the fine layers directly, which FastGAN found keeps
small-data faces in one piece.
"""
import keras
from keras import layers


def _up_block(x, filters, name):
    skip = layers.UpSampling2D(name=f"{name}_skip_up")(x)
    skip = layers.Conv2D(filters, 1, name=f"{name}_skip_conv")(skip)
    h = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn1")(x)
    h = layers.ReLU(name=f"{name}_relu1")(h)
    h = layers.UpSampling2D(name=f"{name}_up")(h)
    h = layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv1")(h)
    h = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn2")(h)
    h = layers.ReLU(name=f"{name}_relu2")(h)
    h = layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv2")(h)
    return layers.Add(name=f"{name}_add")([skip, h])


def _excitation(low, high, name):
    """high * sigmoid(f(low)): one gate per channel of `high`, from the coarse map `low`."""
    side = low.shape[1]
    pool = side // 4 if side % 4 == 0 else 1
    g = layers.AveragePooling2D(pool, name=f"{name}_pool")(low) if pool > 1 else low
    g = layers.Conv2D(low.shape[-1], side // pool, padding="valid", name=f"{name}_conv1")(g)   # (B, 1, 1, C_low)
    g = layers.LeakyReLU(0.1, name=f"{name}_lrelu")(g)
    g = layers.Conv2D(high.shape[-1], 1, activation="sigmoid", name=f"{name}_conv2")(g)
    return layers.Multiply(name=f"{name}_gate")([high, g])


def build_resnet_generator(cfg):
    """Dense to (H/2^r, W/2^r, cfg.g_start_filters), r residual up-blocks with
    cfg.g_filters (excitation from round i into round i + 2), then BN, ReLU and a
    3x3 conv to C channels + tanh."""
    h, w, c = cfg.image_shape
    rounds = len(cfg.g_filters)
    start_h, start_w = h // 2 ** rounds, w // 2 ** rounds
    if start_h * 2 ** rounds != h or start_w * 2 ** rounds != w or start_h < 4:
        raise ValueError(f"image {h}x{w} is not 2^{rounds} times a side of 4 or more")
    z = keras.Input((cfg.g_input_dim,), name="z")
    x = layers.Dense(start_h * start_w * cfg.g_start_filters, name="project")(z)
    x = layers.Reshape((start_h, start_w, cfg.g_start_filters))(x)
    maps = [x]
    for i, filters in enumerate(cfg.g_filters):
        x = _up_block(x, filters, f"up{i}")
        if i >= 1:                         # round i makes map i + 1; map i - 1 (4x coarser) excites it
            x = _excitation(maps[i - 1], x, f"sle{i}")
        maps.append(x)
    x = layers.BatchNormalization(momentum=0.9, name="out_bn")(x)
    x = layers.ReLU(name="out_relu")(x)
    img = layers.Conv2D(c, 3, padding="same", activation="tanh", dtype="float32", name="out_conv")(x)
    return keras.Model(z, img, name="generator")
