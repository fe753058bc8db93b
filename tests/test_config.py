"""Profiles: loading, validation messages, overrides, hashing."""

import pytest

from lsreport.config import ConfigError, available_profiles, load_config, section_hash, with_overrides


def test_all_profiles_load():
    names = available_profiles()
    assert {"smoke", "default", "full"} <= set(names)
    for name in names:
        cfg = load_config(name)
        assert cfg.profile == name


def test_smoke_inherits_from_default():
    smoke, default = load_config("smoke"), load_config("default")
    assert smoke.data.source == "synthetic"
    # not set in smoke.toml, so taken from default.toml
    assert smoke.data.crop_fraction == default.data.crop_fraction
    assert smoke.model.latent_dim < default.model.latent_dim


def test_profile_from_environment(monkeypatch):
    monkeypatch.setenv("LSREPORT_PROFILE", "smoke")
    assert load_config().profile == "smoke"


def test_unknown_key_names_valid_keys():
    with pytest.raises(ConfigError, match=r"unknown key 'model.latnt_dim'.*latent_dim"):
        load_config("smoke", {"model.latnt_dim": 3})


def test_unknown_section_names_valid_sections():
    with pytest.raises(ConfigError, match=r"unknown key 'modle'.*model"):
        load_config("smoke", {"modle.latent_dim": 3})


@pytest.mark.parametrize("key,value,msg", [
    ("model.latent_dim", "big", "must be an integer"),
    ("model.batch_norm", 1, "true or false"),
    ("model.activation", "tanh", "choose one of 'leaky_relu', 'relu', 'selu'"),
    ("train.learning_rate", "fast", "must be a number"),
    ("data.split", [0.5, 0.5, 0.5], "summing to 1"),
])
def test_wrong_values_are_rejected_with_reason(key, value, msg):
    with pytest.raises(ConfigError, match=msg):
        load_config("smoke", {key: value})


def test_image_size_must_fit_the_stride():
    with pytest.raises(ConfigError, match="not divisible by the encoder's total stride 8"):
        load_config("smoke", {"data.image_size": 36})


def test_latent_size_below_two_is_rejected():
    with pytest.raises(ConfigError, match="at least 2"):
        load_config("smoke", {"model.latent_dim": 1})


def test_missing_profile_lists_available():
    with pytest.raises(ConfigError, match="available profiles: .*smoke"):
        load_config("no-such-profile")


def test_section_hash_depends_only_on_named_sections():
    cfg = load_config("smoke")
    other_sampler = with_overrides(cfg, {"sampling.n_per_sampler": 999})
    other_model = with_overrides(cfg, {"model.latent_dim": 8})
    sections = ["model", "train", "run.seed"]
    assert section_hash(cfg, sections) == section_hash(other_sampler, sections)
    assert section_hash(cfg, sections) != section_hash(other_model, sections)
    assert section_hash(cfg, sections, "upstream-a") != section_hash(cfg, sections, "upstream-b")


def test_overrides_are_validated():
    cfg = load_config("smoke")
    assert with_overrides(cfg, {"model.latent_dim": 8}).model.latent_dim == 8
    with pytest.raises(ConfigError):
        with_overrides(cfg, {"model.nope": 8})


def test_step_revision_changes_only_that_steps_key(monkeypatch):
    from lsreport import config

    cfg = load_config("smoke")
    before = {s: section_hash(cfg, ["stats"], step=s) for s in config.STEP_REVISIONS}
    monkeypatch.setitem(config.STEP_REVISIONS, "analysis", config.STEP_REVISIONS["analysis"] + 1)
    after = {s: section_hash(cfg, ["stats"], step=s) for s in config.STEP_REVISIONS}
    assert [s for s in before if before[s] != after[s]] == ["analysis"]
