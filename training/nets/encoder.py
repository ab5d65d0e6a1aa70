"""The encoder E: a masked image and its mask -> a guess of G's input z.

Input (B, H, W, C + 1) float32: the image in [-1, 1] with its hole pixels set to
0, then the known-mask (1 = known) as the last channel. Output (B, d) float32 in
(-1, 1), the support of the prior z ~ U(-1, 1).
"""
import keras
from keras import layers


def build_encoder(image_shape, latent_dim, filters=(64, 128, 256, 256)):
    """Stride-2 convolutions down to about 4x4, then one dense layer and tanh
    (about 2.1 M weights, 8 MB frozen, for 64x64x3 and d = 100)."""
    h, w, c = image_shape
    x_in = keras.Input((h, w, c + 1), name="masked")
    x = x_in
    side = h
    for f in filters:
        if side <= 4:
            break
        x = layers.Conv2D(f, 4, strides=2, padding="same")(x)
        x = layers.LeakyReLU(0.2)(x)
        side = (side + 1) // 2
    x = layers.Flatten()(x)
    z = layers.Dense(latent_dim, activation="tanh", name="z")(x)
    return keras.Model(x_in, z, name="encoder")
