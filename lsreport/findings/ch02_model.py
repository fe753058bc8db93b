"""The autoencoder chapter's sentences in words (no configuration keys or identifiers)."""

from __future__ import annotations

__all__ = ["architecture_sentence", "training_sentence"]

_ACTIVATIONS = {"leaky_relu": "leaky ReLU", "relu": "ReLU", "elu": "ELU", "gelu": "GELU",
                "tanh": "tanh", "selu": "SELU", "swish": "swish", "silu": "SiLU"}
_LOSSES = {"mse": "mean squared error", "mae": "mean absolute error",
           "bce": "binary cross-entropy", "binary_crossentropy": "binary cross-entropy"}
_SCHEDULES = {"constant": "constant", "cosine": "cosine-decay", "exponential": "exponentially decaying",
              "step": "step-wise decaying", "plateau": "reduce-on-plateau"}
_PRECISION = {False: "in float32",
              True: "in float16 with float32 weights (Keras mixed precision)",
              "bfloat16": "in bfloat16 with float32 weights (Keras mixed precision)"}


def words(name: str, table: dict) -> str:
    """A configuration value in words (underscores to spaces when not listed)."""
    return table.get(str(name), str(name).replace("_", " "))


def architecture_sentence(cfg, meta) -> str:
    """Encoder layers, activation, batch normalisation, parameters and loss, in one sentence.

    >>> from types import SimpleNamespace as NS
    >>> cfg = NS(model=NS(filters=[32, 64], activation="leaky_relu", batch_norm=False, loss="mse"))
    >>> architecture_sentence(cfg, {"parameters": 1234567})  # doctest: +NORMALIZE_WHITESPACE
    'The encoder has 2 strided convolution layers with 32, 64 filters, leaky ReLU activations
    and no batch normalisation; the whole autoencoder has 1,234,567 trainable parameters and is
    trained to minimise the mean squared error between image and reconstruction.'
    """
    m = cfg.model
    bn = "batch normalisation" if m.batch_norm else "no batch normalisation"
    return (f"The encoder has {len(m.filters)} strided convolution layers with "
            f"{', '.join(map(str, m.filters))} filters, {words(m.activation, _ACTIVATIONS)} "
            f"activations and {bn}; the whole autoencoder has {int(meta['parameters']):,} "
            f"trainable parameters and is trained to minimise the {words(m.loss, _LOSSES)} "
            "between image and reconstruction.")


def training_sentence(cfg, meta, history) -> str:
    """Optimiser, schedule, epochs, time, throughput and final losses."""
    t = cfg.train
    devices = ", ".join(meta.get("devices", [])) or "the CPU"
    return (f"Adam with a {words(t.lr_schedule, _SCHEDULES)} learning rate starting at "
            f"{t.learning_rate:g} ran for {len(history)} epochs over {int(meta['n_train']):,} "
            f"training images in batches of {t.batch_size}, computing "
            f"{_PRECISION.get(t.mixed_precision, str(t.mixed_precision))}. Training took "
            f"{meta['train_seconds'] / 60:.1f} minutes on {devices}, at a median of "
            f"{history['images_per_s'].median():,.0f} images per second; the final training "
            f"loss was {meta['final_loss']:.4f} and the validation loss "
            f"{meta['final_val_loss']:.4f}.")
