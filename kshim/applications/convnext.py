"""ConvNeXt Tiny, Small, Base, Large, XLarge (Liu et al., 2022), laid out as Keras 3's
``keras.applications.convnext``.

Layer names, weight shapes and weight order are Keras 3's (the stem and the downsampling blocks are nested
Sequential models, as there). With ``include_preprocessing=True`` (the default) the model takes images in [0, 255]
and normalizes them itself; ``preprocess_input`` returns its input unchanged. ConvNeXt is channels_last only.
"""

import numpy as np

from kshim import config, initializers, layers, ops
from kshim import random as krandom
from kshim.applications import imagenet_utils
from kshim.layers import Layer
from kshim.models import Model, Sequential

BASE_WEIGHTS_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/convnext/"
WEIGHTS_HASHES = {  # (with top, without top), sha256 as Keras 3 lists them
    "convnext_tiny": ("8ae6e78ce2933352b1ef4008e6dd2f17bc40771563877d156bc6426c7cf503ff",
                      "d547c096cabd03329d7be5562c5e14798aa39ed24b474157cef5e85ab9e49ef1"),
    "convnext_small": ("ce1277d8f1ee5a0ef0e171469089c18f5233860ceaf9b168049cb9263fd7483c",
                       "6fc8009faa2f00c1c1dfce59feea9b0745eb260a7dd11bee65c8e20843da6eab"),
    "convnext_base": ("52cbb006d3dadd03f6e095a8ca1aca47aecdd75acb4bc74bce1f5c695d0086e6",
                      "40a20c5548a5e9202f69735ecc06c990e6b7c9d2de39f0361e27baeb24cb7c45"),
    "convnext_large": ("070c5ed9ed289581e477741d3b34beffa920db8cf590899d6d2c67fba2a198a6",
                       "96f02b6f0753d4f543261bc9d09bed650f24dd6bc02ddde3066135b63d23a1cd"),
    "convnext_xlarge": ("c1f5ccab661354fc3a79a10fa99af82f0fbf10ec65cb894a3ae0815f17a889ee",
                        "de3f8a54174130e0cecdc71583354753d557fcf1f4487331558e2a16ba0cfe05"),
}

MODEL_CONFIGS = {
    "tiny": {"depths": [3, 3, 9, 3], "projection_dims": [96, 192, 384, 768], "default_size": 224},
    "small": {"depths": [3, 3, 27, 3], "projection_dims": [96, 192, 384, 768], "default_size": 224},
    "base": {"depths": [3, 3, 27, 3], "projection_dims": [128, 256, 512, 1024], "default_size": 224},
    "large": {"depths": [3, 3, 27, 3], "projection_dims": [192, 384, 768, 1536], "default_size": 224},
    "xlarge": {"depths": [3, 3, 27, 3], "projection_dims": [256, 512, 1024, 2048], "default_size": 224},
}


class StochasticDepth(Layer):
    """Drops the whole residual branch of a sample with probability ``drop_path_rate`` in training (and scales
    the kept ones by ``1 / (1 - rate)``); the identity otherwise. The mask comes from kshim's seeded generator."""

    def __init__(self, drop_path_rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(drop_path_rate, bool) or not isinstance(drop_path_rate, (int, float)) or \
                not 0 <= drop_path_rate < 1:
            raise ValueError("StochasticDepth: `drop_path_rate` must be a float in [0, 1). "
                             f"Received: drop_path_rate={drop_path_rate!r}")
        self.drop_path_rate = float(drop_path_rate)
        self.seed_generator = krandom.SeedGenerator(seed, name="seed_generator")

    def call(self, x, training=None):
        if not training or self.drop_path_rate == 0:
            return x
        keep = 1.0 - self.drop_path_rate
        shape = (ops.shape(x)[0],) + (1,) * (len(ops.shape(x)) - 1)
        mask = ops.floor(keep + krandom.uniform(shape, 0.0, 1.0, dtype=x.dtype, seed=self.seed_generator))
        return (x / keep) * mask

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "drop_path_rate": self.drop_path_rate}


class LayerScale(Layer):
    """Multiplies the last axis by a learned per-channel ``gamma`` (one weight, shape (projection_dim,),
    initialized to ``init_values``)."""

    def __init__(self, init_values, projection_dim, **kwargs):
        super().__init__(**kwargs)
        self.init_values = init_values
        self.projection_dim = projection_dim

    def build(self, input_shape):
        self.gamma = self.add_weight(shape=(self.projection_dim,), initializer=initializers.Constant(self.init_values),
                                     trainable=True, name="gamma")
        self.built = True

    def call(self, x):
        return x * ops.cast(self.gamma.value, x.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "init_values": self.init_values, "projection_dim": self.projection_dim}


def ConvNeXtBlock(projection_dim, drop_path_rate=0.0, layer_scale_init_value=1e-6, name=None):
    """Depthwise 7x7 -> LayerNorm -> Dense(4d) -> GELU -> Dense(d) -> LayerScale, added to the input."""
    name = name or "convnext_block"

    def apply(inputs):
        x = layers.Conv2D(filters=projection_dim, kernel_size=7, padding="same", groups=projection_dim,
                          name=f"{name}_depthwise_conv")(inputs)
        x = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_layernorm")(x)
        x = layers.Dense(4 * projection_dim, name=f"{name}_pointwise_conv_1")(x)
        x = layers.Activation("gelu", name=f"{name}_gelu")(x)
        x = layers.Dense(projection_dim, name=f"{name}_pointwise_conv_2")(x)
        if layer_scale_init_value is not None:
            x = LayerScale(layer_scale_init_value, projection_dim, name=f"{name}_layer_scale")(x)
        if drop_path_rate:
            last = StochasticDepth(drop_path_rate, name=f"{name}_stochastic_depth")
        else:
            last = layers.Activation("linear", name=f"{name}_identity")
        # Keras 3 writes `inputs + last(x)`, a graph op that is not a layer; kshim's symbolic tensors have no
        # operators, so an Add layer (no weights, so the weights file is the same) stands in for it.
        return layers.Add(name=f"{name}_add")([inputs, last(x)])

    return apply


def PreStem(name=None):
    """Normalizes [0, 255] images by ImageNet's channel mean and variance."""
    name = name or "prestem"

    def apply(x):
        return layers.Normalization(mean=[0.485 * 255, 0.456 * 255, 0.406 * 255],
                                    variance=[(0.229 * 255) ** 2, (0.224 * 255) ** 2, (0.225 * 255) ** 2],
                                    name=f"{name}_prestem_normalization")(x)

    return apply


def Head(num_classes=1000, classifier_activation=None, name=None):
    """Global average pool -> LayerNorm -> Dense."""
    name = name or "head"

    def apply(x):
        x = layers.GlobalAveragePooling2D(name=f"{name}_head_gap")(x)
        x = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_head_layernorm")(x)
        return layers.Dense(num_classes, activation=classifier_activation, name=f"{name}_head_dense")(x)

    return apply


def ConvNeXt(depths, projection_dims, drop_path_rate=0.0, layer_scale_init_value=1e-6, default_size=224,
             name="convnext", include_preprocessing=True, include_top=True, weights=None, input_tensor=None,
             input_shape=None, pooling=None, classes=1000, classifier_activation="softmax", weights_name=None):
    """Build a ConvNeXt from its stage depths and widths (the Tiny-XLarge functions pick Keras 3's)."""
    if config.image_data_format() == "channels_first":
        raise ValueError("ConvNeXt: the channels_first image data format is not supported; use channels_last. "
                         "Received: image_data_format='channels_first'")
    imagenet_utils.validate_args(name, include_top, weights, input_tensor, input_shape, pooling, classes,
                                 classifier_activation)
    if weights == "imagenet":
        expected = MODEL_CONFIGS.get((weights_name or "").split("convnext_")[-1])
        if expected is None or list(depths) != expected["depths"] or \
                list(projection_dims) != expected["projection_dims"]:
            raise ValueError(f"ConvNeXt: ImageNet weights need the architecture of '{weights_name}'. Received: "
                             f"depths={depths}, projection_dims={projection_dims}")
        if weights_name not in name:
            raise ValueError(f"ConvNeXt: with ImageNet weights, `name` must contain the variant "
                             f"'{weights_name}'. Received: name={name!r}")
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=default_size, min_size=32,
                                                    data_format=config.image_data_format(),
                                                    require_flatten=include_top, weights=weights)
    img_input = imagenet_utils.model_input(input_tensor, input_shape)
    x = img_input
    if include_preprocessing and input_shape[-1] == 3:
        x = PreStem(name=name)(x)

    downsample = [Sequential([
        layers.Conv2D(projection_dims[0], kernel_size=4, strides=4, name=f"{name}_stem_conv"),
        layers.LayerNormalization(epsilon=1e-6, name=f"{name}_stem_layernorm"),
    ], name=f"{name}_stem")]
    for i in range(3):
        downsample.append(Sequential([
            layers.LayerNormalization(epsilon=1e-6, name=f"{name}_downsampling_layernorm_{i}"),
            layers.Conv2D(projection_dims[i + 1], kernel_size=2, strides=2, name=f"{name}_downsampling_conv_{i}"),
        ], name=f"{name}_downsampling_block_{i}"))

    rates = [float(r) for r in np.linspace(0.0, drop_path_rate, sum(depths))]
    cur = 0
    for i in range(4):
        x = downsample[i](x)
        for j in range(depths[i]):
            x = ConvNeXtBlock(projection_dim=projection_dims[i], drop_path_rate=rates[cur + j],
                              layer_scale_init_value=layer_scale_init_value, name=f"{name}_stage_{i}_block_{j}")(x)
        cur += depths[i]

    if include_top:
        x = Head(num_classes=classes, classifier_activation=classifier_activation, name=name)(x)
    else:
        if pooling == "avg":
            x = layers.GlobalAveragePooling2D()(x)
        elif pooling == "max":
            x = layers.GlobalMaxPooling2D()(x)
        x = layers.LayerNormalization(epsilon=1e-6)(x)
    model = Model(imagenet_utils.source_inputs(input_tensor, img_input), x, name=name)
    hashes = WEIGHTS_HASHES.get(weights_name)
    return imagenet_utils.load_weights(model, weights, name + (".h5" if include_top else "_notop.h5"),
                                       origin=BASE_WEIGHTS_PATH,
                                       file_hash=hashes and hashes[0 if include_top else 1])


def _variant(size_name):
    fn_name = "ConvNeXt" + {"xlarge": "XLarge"}.get(size_name, size_name.capitalize())
    cfg = MODEL_CONFIGS[size_name]

    def build(include_top=True, include_preprocessing=True, weights="imagenet", input_tensor=None,
              input_shape=None, pooling=None, classes=1000, classifier_activation="softmax",
              name=f"convnext_{size_name}"):
        return ConvNeXt(weights_name=f"convnext_{size_name}", depths=cfg["depths"],
                        projection_dims=cfg["projection_dims"], drop_path_rate=0.0, layer_scale_init_value=1e-6,
                        default_size=cfg["default_size"], name=name, include_top=include_top,
                        include_preprocessing=include_preprocessing, weights=weights, input_tensor=input_tensor,
                        input_shape=input_shape, pooling=pooling, classes=classes,
                        classifier_activation=classifier_activation)

    build.__name__ = build.__qualname__ = fn_name
    build.__doc__ = (f"Instantiates {fn_name} (default input 224x224, at least 32x32, channels_last). With "
                     "`include_preprocessing=True` inputs are images in [0, 255].")
    return build


ConvNeXtTiny = _variant("tiny")
ConvNeXtSmall = _variant("small")
ConvNeXtBase = _variant("base")
ConvNeXtLarge = _variant("large")
ConvNeXtXLarge = _variant("xlarge")


def preprocess_input(x, data_format=None):
    """Returns ``x`` unchanged: ConvNeXt normalizes inside the model (kept for Keras's API)."""
    return x


def decode_predictions(preds, top=5):
    """ImageNet class names for the top predictions (see `imagenet_utils.decode_predictions`)."""
    return imagenet_utils.decode_predictions(preds, top=top)
