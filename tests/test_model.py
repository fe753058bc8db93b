"""The autoencoder's architecture: shapes, names, parameter counts, bad input."""

import dataclasses

import numpy as np
import pytest

from lsreport.config import ConfigError, load_config, with_overrides

keras = pytest.importorskip("keras")

from lsreport.model import (  # noqa: E402
    build_autoencoder,
    build_decoder,
    build_encoder,
    layer_table,
)


@pytest.fixture(scope="module")
def smoke():
    return load_config("smoke")


def _conv_params(k, c_in, c_out, bias=True):
    return k * k * c_in * c_out + (c_out if bias else 0)


def test_shapes_and_names(smoke):
    enc, dec, ae = build_encoder(smoke), build_decoder(smoke), build_autoencoder(smoke)
    s, d = smoke.data.image_size, smoke.model.latent_dim
    assert (enc.name, dec.name, ae.name) == ("encoder", "decoder", "autoencoder")
    assert tuple(enc.input.shape) == (None, s, s, 3)
    assert tuple(enc.output.shape) == (None, d)
    assert tuple(dec.output.shape) == (None, s, s, 3)
    assert enc.get_layer("z").activation.__name__ == "linear"
    assert {"encoder", "decoder"} <= {layer.name for layer in ae.layers}


def test_encoder_feature_map_halves_per_filter_entry(smoke):
    enc = build_encoder(smoke)
    s = smoke.data.image_size
    for i, f in enumerate(smoke.model.filters, start=1):
        assert tuple(enc.get_layer(f"enc_conv{i}").output.shape) == (None, s >> i, s >> i, f)


def test_parameter_count_matches_closed_form(smoke):
    # Independent count from the layer formulas (kernel * in * out + bias).
    m, s = smoke.model, smoke.data.image_size
    k, widths = m.kernel_size, (3,) + tuple(m.filters)
    side = s // 2 ** len(m.filters)
    enc = sum(_conv_params(k, a, b) for a, b in zip(widths[:-1], widths[1:]))
    enc += side * side * m.filters[-1] * m.latent_dim + m.latent_dim
    dec = m.latent_dim * side * side * m.filters[-1] + side * side * m.filters[-1]
    dec += sum(_conv_params(k, b, a) for a, b in zip(widths[:-1], widths[1:]))
    assert build_encoder(smoke).count_params() == enc
    assert build_decoder(smoke).count_params() == dec


def test_layer_table_sums_to_model_parameters(smoke):
    ae = build_autoencoder(smoke)
    t = layer_table(ae)
    assert list(t.columns) == ["model", "name", "type", "output_shape", "parameters"]
    assert t["parameters"].sum() == ae.count_params()
    assert set(t["model"]) == {"autoencoder", "encoder", "decoder"}
    z = t.set_index("name").loc["z"]
    assert z["type"] == "Dense" and z["output_shape"] == (None, smoke.model.latent_dim)
    collapsed = layer_table(ae, expand=False)
    assert list(collapsed["name"]) == ["image", "encoder", "decoder"]
    assert collapsed["parameters"].sum() == ae.count_params()


def test_decoder_output_is_an_image_in_unit_interval(smoke, rng):
    dec = build_decoder(smoke)
    x = np.asarray(dec(rng.normal(0, 10, (5, smoke.model.latent_dim)).astype("float32")))
    assert x.min() >= 0 and x.max() <= 1


@pytest.mark.parametrize("activation", ["relu", "selu", "leaky_relu"])
def test_activation_is_used(smoke, activation):
    cfg = with_overrides(smoke, {"model.activation": activation})
    act = build_encoder(cfg).get_layer("enc_conv1_act").activation
    v = np.array([-2.0, 0.5], "float32")
    lam, alpha = 1.0507009873554805, 1.6732632423543772  # Klambauer et al. (2017)
    expected = {"relu": [0.0, 0.5],
                "selu": [lam * alpha * (np.exp(-2.0) - 1), 0.5 * lam],
                "leaky_relu": [-2.0 * 0.2, 0.5]}[activation]  # Keras' default slope 0.2
    np.testing.assert_allclose(np.asarray(act(v)), expected, rtol=1e-5)


def test_batch_norm_and_extra_convs(smoke):
    cfg = with_overrides(smoke, {"model.batch_norm": True, "model.extra_convs": 1})
    enc, dec = build_encoder(cfg), build_decoder(cfg)
    n = len(cfg.model.filters)
    enc_types = [type(layer).__name__ for layer in enc.layers]
    assert enc_types.count("Conv2D") == 2 * n
    assert enc_types.count("BatchNormalization") == 2 * n
    # extra convs keep the size of the map they follow
    s = cfg.data.image_size
    f0 = cfg.model.filters[0]
    assert tuple(enc.get_layer("enc_conv1_1").output.shape) == (None, s // 2, s // 2, f0)
    dec_types = [type(layer).__name__ for layer in dec.layers]
    assert dec_types.count("Conv2D") == n
    assert dec_types.count("Conv2DTranspose") == n
    assert tuple(dec.output.shape) == (None, s, s, 3)


def test_kernel_size_four(smoke):
    cfg = with_overrides(smoke, {"model.kernel_size": 4})
    ae = build_autoencoder(cfg)
    assert tuple(ae.output.shape) == (None, 32, 32, 3)
    kernel = ae.get_layer("encoder").get_layer("enc_conv1").kernel
    assert kernel.shape == (4, 4, 3, cfg.model.filters[0])


def test_mixed_precision_keeps_z_and_output_float32(smoke):
    cfg = with_overrides(smoke, {"train.mixed_precision": True})
    enc, dec = build_encoder(cfg), build_decoder(cfg)
    assert enc.get_layer("enc_conv1").compute_dtype == "float16"
    assert enc.output.dtype == "float32" and dec.output.dtype == "float32"


def test_bfloat16_keeps_z_and_output_float32(smoke):
    cfg = with_overrides(smoke, {"train.mixed_precision": "bfloat16"})
    enc, dec = build_encoder(cfg), build_decoder(cfg)
    assert enc.get_layer("enc_conv1").compute_dtype == "bfloat16"
    assert enc.get_layer("enc_conv1").variable_dtype == "float32"
    assert enc.output.dtype == "float32" and dec.output.dtype == "float32"


def test_auto_precision_is_decided_when_the_profile_loads(smoke, monkeypatch):
    monkeypatch.setenv("LSREPORT_BF16", "1")
    assert with_overrides(smoke, {"train.mixed_precision": "auto"}).train.mixed_precision == "bfloat16"
    monkeypatch.setenv("LSREPORT_BF16", "0")
    assert with_overrides(smoke, {"train.mixed_precision": "auto"}).train.mixed_precision is False
    with pytest.raises(ConfigError, match="mixed_precision = 0 is not valid"):
        with_overrides(smoke, {"train.mixed_precision": 0})


def test_image_size_not_divisible_by_stride_is_rejected(smoke):
    bad = dataclasses.replace(smoke, data=dataclasses.replace(smoke.data, image_size=36))
    with pytest.raises(ConfigError, match=r"multiple of 8"):
        build_encoder(bad)
    with pytest.raises(ConfigError, match="image_size"):
        build_decoder(bad)


def test_latent_below_two_is_rejected(smoke):
    bad = dataclasses.replace(smoke, model=dataclasses.replace(smoke.model, latent_dim=1))
    with pytest.raises(ConfigError, match="latent_dim"):
        build_autoencoder(bad)


def test_config_and_model_checks_agree(smoke):
    # The profile loader rejects what the builder rejects, with the same advice.
    with pytest.raises(ConfigError, match=r"multiple of 8"):
        with_overrides(smoke, {"data.image_size": 36})
    with pytest.raises(ConfigError, match="latent_dim"):
        with_overrides(smoke, {"model.latent_dim": 1})
