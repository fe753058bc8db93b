"""The plain convolutional autoencoder: encoder, decoder, layer table.

The network is deliberately *plain*: strided convolutions down to a small
feature map, one linear ``Dense`` layer to the latent vector ``z``, and the
mirror image back up to a sigmoid image. There is no variational term, no
noise, no weight or activity penalty on ``z`` -- whatever shape the latent
distribution takes is the network's own doing, which is what the book studies.

Layer names are stable (``enc_conv1``, ``z``, ``dec_dense``, ``x_hat``, ...)
so that chapters and tests can refer to them.

References
----------
.. [1] R. Mönchmeyer, "Autoencoders, latent space and the curse of high
   dimensionality", linux-blog.anracom.com (2021), the series this book follows.
"""

from __future__ import annotations

import pandas as pd

from .config import Config, ConfigError

__all__ = [
    "build_encoder",
    "build_decoder",
    "build_autoencoder",
    "layer_table",
    "total_stride",
    "loss_name",
]

_ACTIVATIONS = ("leaky_relu", "relu", "selu")


def total_stride(cfg: Config) -> int:
    """The factor by which the encoder shrinks the image side (2 per filter entry)."""
    return 2 ** len(cfg.model.filters)


def loss_name(cfg: Config) -> str:
    """The Keras loss for ``cfg.model.loss``: binary cross-entropy or mean squared error."""
    return {"bce": "binary_crossentropy", "mse": "mean_squared_error"}[cfg.model.loss]


def _check(cfg: Config) -> None:
    # The config loader checks the same things; models can also be built from
    # hand-made Config objects, so the message is repeated here.
    m, size = cfg.model, cfg.data.image_size
    if not m.filters:
        raise ConfigError("model.filters must list at least one layer width")
    if any((not isinstance(f, int)) or f < 1 for f in m.filters):
        raise ConfigError(f"model.filters = {list(m.filters)} must be positive integers")
    stride = total_stride(cfg)
    if size % stride:
        raise ConfigError(
            f"data.image_size = {size} is not divisible by the encoder's total stride "
            f"{stride} ({len(m.filters)} strided layers); use a multiple of {stride} "
            f"or fewer entries in model.filters")
    if m.latent_dim < 2:
        raise ConfigError(f"model.latent_dim = {m.latent_dim} must be at least 2")
    if m.kernel_size < 1:
        raise ConfigError(f"model.kernel_size = {m.kernel_size} must be at least 1")
    if m.extra_convs < 0:
        raise ConfigError(f"model.extra_convs = {m.extra_convs} must be 0 or more")
    if m.activation not in _ACTIVATIONS:
        raise ConfigError(f"model.activation = {m.activation!r}; choose one of "
                          + ", ".join(repr(a) for a in _ACTIVATIONS))


def _policy(cfg: Config) -> str:
    from .config import resolve_mixed_precision  # "auto" only in a Config built by hand

    mp = resolve_mixed_precision(cfg.train.mixed_precision)
    return {"bfloat16": "mixed_bfloat16", True: "mixed_float16"}.get(mp, "float32")


def _block(x, filters, cfg, *, name, strides=1, transpose=False):
    """Convolution, optional batch norm, activation."""
    import keras

    m = cfg.model
    conv = keras.layers.Conv2DTranspose if transpose else keras.layers.Conv2D
    # The bias is redundant in front of batch normalisation.
    x = conv(filters, m.kernel_size, strides=strides, padding="same",
             use_bias=not m.batch_norm, dtype=_policy(cfg), name=name)(x)
    if m.batch_norm:
        x = keras.layers.BatchNormalization(dtype=_policy(cfg), name=f"{name}_bn")(x)
    return keras.layers.Activation(m.activation, dtype=_policy(cfg), name=f"{name}_act")(x)


def build_encoder(cfg: Config):
    """The encoder: image in [0, 1] -> latent vector ``z``.

    One stride-2 ``Conv2D`` per entry of ``cfg.model.filters`` (each followed
    by ``cfg.model.extra_convs`` stride-1 convolutions of the same width),
    then ``Flatten`` and a linear ``Dense(latent_dim)`` named ``"z"``.

    Parameters
    ----------
    cfg : Config
        Uses ``cfg.data.image_size``, ``cfg.model`` and
        ``cfg.train.mixed_precision``.

    Returns
    -------
    keras.Model
        Named ``"encoder"``; input ``(S, S, 3)`` float, output ``(latent_dim,)``
        float32 (also under mixed precision).

    Raises
    ------
    ConfigError
        If the image size is not divisible by the total stride, the latent
        size is below 2, or another model setting is invalid.

    Notes
    -----
    ``z`` is linear and unregularised on purpose: the book asks what
    distribution a plain autoencoder produces by itself [1]_.

    References
    ----------
    .. [1] R. Mönchmeyer, "Autoencoders, latent space and the curse of high
       dimensionality", linux-blog.anracom.com (2021).

    Examples
    --------
    >>> from lsreport.config import load_config
    >>> enc = build_encoder(load_config("smoke"))          # doctest: +SKIP
    >>> enc.output.shape                                   # doctest: +SKIP
    (None, 16)
    """
    import keras

    _check(cfg)
    m, s = cfg.model, cfg.data.image_size
    inp = keras.Input((s, s, 3), name="image")
    x = inp
    for i, f in enumerate(m.filters, start=1):
        x = _block(x, f, cfg, strides=2, name=f"enc_conv{i}")
        for j in range(1, m.extra_convs + 1):
            x = _block(x, f, cfg, name=f"enc_conv{i}_{j}")
    x = keras.layers.Flatten(name="flatten")(x)
    z = keras.layers.Dense(m.latent_dim, dtype="float32", name="z")(x)
    return keras.Model(inp, z, name="encoder")


def build_decoder(cfg: Config):
    """The decoder: latent vector -> image in [0, 1]; the encoder's mirror image.

    ``Dense`` to a ``(S / stride, S / stride, filters[-1])`` map, then per
    level (from the deepest) ``extra_convs`` stride-1 convolutions and one
    stride-2 ``Conv2DTranspose`` to the next shallower width; the last one
    gives 3 channels with a sigmoid (layer ``"x_hat"``).

    Parameters
    ----------
    cfg : Config
        As for :func:`build_encoder`.

    Returns
    -------
    keras.Model
        Named ``"decoder"``; input ``(latent_dim,)``, output ``(S, S, 3)``
        float32 in [0, 1].

    Raises
    ------
    ConfigError
        As :func:`build_encoder`.

    Examples
    --------
    >>> dec = build_decoder(load_config("smoke"))          # doctest: +SKIP
    >>> dec.output.shape                                   # doctest: +SKIP
    (None, 32, 32, 3)
    """
    import keras

    _check(cfg)
    m, s = cfg.model, cfg.data.image_size
    side = s // total_stride(cfg)
    inp = keras.Input((m.latent_dim,), name="z_in")
    x = keras.layers.Dense(side * side * m.filters[-1], dtype=_policy(cfg),
                           name="dec_dense")(inp)
    x = keras.layers.Activation(m.activation, dtype=_policy(cfg), name="dec_dense_act")(x)
    x = keras.layers.Reshape((side, side, m.filters[-1]), name="dec_reshape")(x)
    widths = list(m.filters)
    for level in range(len(widths), 0, -1):
        for j in range(1, m.extra_convs + 1):
            x = _block(x, widths[level - 1], cfg, name=f"dec_conv{level}_{j}")
        if level > 1:
            x = _block(x, widths[level - 2], cfg, strides=2, transpose=True,
                       name=f"dec_deconv{level}")
    # The output layer has no batch norm and a float32 sigmoid, so that
    # reconstructions are exact probabilities in [0, 1] under mixed precision.
    out = keras.layers.Conv2DTranspose(3, m.kernel_size, strides=2, padding="same",
                                       activation="sigmoid", dtype="float32",
                                       name="x_hat")(x)
    return keras.Model(inp, out, name="decoder")


def build_autoencoder(cfg: Config, encoder=None, decoder=None):
    """Encoder and decoder chained: image -> z -> reconstruction.

    Parameters
    ----------
    cfg : Config
    encoder, decoder : keras.Model, optional
        Existing parts to chain (e.g. loaded ones); built from ``cfg`` if omitted.

    Returns
    -------
    keras.Model
        Named ``"autoencoder"``, not compiled; its layers ``"encoder"`` and
        ``"decoder"`` are the two sub-models (shared weights).

    Examples
    --------
    >>> ae = build_autoencoder(load_config("smoke"))       # doctest: +SKIP
    >>> [l.name for l in ae.layers]                        # doctest: +SKIP
    ['image', 'encoder', 'decoder']
    """
    import keras

    encoder = encoder if encoder is not None else build_encoder(cfg)
    decoder = decoder if decoder is not None else build_decoder(cfg)
    s = cfg.data.image_size
    inp = keras.Input((s, s, 3), name="image")
    return keras.Model(inp, decoder(encoder(inp)), name="autoencoder")


def layer_table(model, *, expand: bool = True) -> pd.DataFrame:
    """One row per layer: name, type, output shape, number of parameters.

    Parameters
    ----------
    model : keras.Model
    expand : bool, default True
        List the layers of nested models (the autoencoder's encoder and
        decoder) instead of one row per sub-model; the ``model`` column says
        which sub-model a layer belongs to.

    Returns
    -------
    pandas.DataFrame
        Columns ``model``, ``name``, ``type``, ``output_shape`` (a tuple with
        ``None`` for the batch axis), ``parameters`` (int). The sum of
        ``parameters`` equals ``model.count_params()``.

    Examples
    --------
    >>> layer_table(build_encoder(load_config("smoke"))).iloc[-1]["name"]  # doctest: +SKIP
    'z'
    """
    import keras

    rows = []

    def walk(m, owner):
        for layer in m.layers:
            if expand and isinstance(layer, keras.Model):
                walk(layer, layer.name)
                continue
            if isinstance(layer, keras.layers.InputLayer) and owner != model.name:
                continue  # a nested model's input is the outer layer's output
            try:
                shape = tuple(layer.output.shape)
            except (AttributeError, ValueError):
                shape = None
            rows.append({"model": owner, "name": layer.name, "type": type(layer).__name__,
                         "output_shape": shape, "parameters": int(layer.count_params())})

    walk(model, model.name)
    return pd.DataFrame(rows, columns=["model", "name", "type", "output_shape", "parameters"])
