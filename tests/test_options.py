"""The one coercer of settings (recommender/options.py) and ``[serve]`` validation in config."""

from __future__ import annotations

from pathlib import Path

import pytest

from recommender.config import ServeSettings, load_config
from recommender.errors import ConfigError, SettingsError
from recommender.options import coerce_options, field_options, parse_query, query_schemas
from recommender.ranking import RankingSettings


# ---------------------------------------------------------------------------- query strings
def test_query_strings_become_typed_values() -> None:
    parsed = parse_query(
        RankingSettings,
        {
            "k": ["3"],
            "half_life_days": ["30"],
            "candidate_pool": ["7"],
            "same_category_only": ["Yes"],
            "dedupe": ["off"],
            "recency_reference": ["now"],
            "max_age_days": ["none"],
            "categories_deny": ["a, b", "c"],
        },
        reserved=("k",),
    )
    assert parsed == {
        "half_life_days": 30.0,
        "candidate_pool": 7,
        "same_category_only": True,
        "dedupe": False,
        "recency_reference": "now",
        "max_age_days": None,
        "categories_deny": ("a", "b", "c"),
    }
    assert type(parsed["half_life_days"]) is float and type(parsed["candidate_pool"]) is int
    assert RankingSettings().replace(**parsed).categories_deny == ("a", "b", "c")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"bogus": ["1"]}, "unknown parameter 'bogus'"),
        ({"half_life_days": ["abc"]}, "parameter 'half_life_days': could not convert"),
        ({"half_life_days": ["inf"]}, "half_life_days must be a finite number"),
        ({"candidate_pool": ["1.5"]}, "parameter 'candidate_pool': invalid literal"),
        ({"dedupe": ["maybe"]}, "parameter 'dedupe': expected true or false, got 'maybe'"),
        ({"recency_reference": ["later"]}, "expected one of source, now, got 'later'"),
        ({"candidate_pool": ["1", "2"]}, "parameter 'candidate_pool': given more than once"),
    ],
)
def test_bad_query_values_name_the_parameter(params: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse_query(RankingSettings, params)


def test_schemas_follow_the_annotations() -> None:
    schemas = query_schemas(RankingSettings)
    assert set(schemas) == set(field_options(RankingSettings))
    assert schemas["weight_lexical"] == {"type": "number"}
    assert schemas["candidate_pool"] == {"type": "integer"}
    assert schemas["dedupe"] == {"type": "boolean"}
    assert schemas["recency_reference"] == {"type": "string", "enum": ["source", "now"]}
    assert schemas["max_age_days"] == {"type": "number", "nullable": True}
    assert schemas["evergreen_tag"] == {"type": "string", "nullable": True}
    assert schemas["fallback"] == {"type": "array", "items": {"type": "string"}}


# ---------------------------------------------------------------------------- typed values
def test_typed_values_are_checked_and_normalized() -> None:
    assert coerce_options(
        RankingSettings, {"half_life_days": 30, "fallback": ["recent"], "categories_allow": "a,b"}
    ) == {"half_life_days": 30.0, "fallback": ("recent",), "categories_allow": ("a", "b")}
    settings = RankingSettings(half_life_days=7, max_age_days=None)
    assert type(settings.half_life_days) is float


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"half_lif": 3}, "unknown ranking option"),
        ({"dedupe": "yes"}, "dedupe must be true or false, got 'yes'"),
        ({"half_life_days": True}, "half_life_days must be a number"),
        ({"half_life_days": float("nan")}, "half_life_days must be a finite number"),
        ({"candidate_pool": 2.0}, "candidate_pool must be a whole number"),
        ({"evergreen_tag": 3}, "evergreen_tag must be a string"),
        ({"fallback": [1]}, "fallback must be a list of strings"),
    ],
)
def test_bad_typed_values_name_the_setting(values: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        coerce_options(RankingSettings, values)


def test_ranges_are_settings_errors_and_still_value_errors() -> None:
    with pytest.raises(SettingsError, match="half_life_days must be positive"):
        RankingSettings(half_life_days=0)
    with pytest.raises(ValueError, match="exclude each other"):
        RankingSettings().replace(only_older=True, only_newer=True)


# ---------------------------------------------------------------------------- [serve]
def test_serve_section_is_typed(tmp_path: Path) -> None:
    path = tmp_path / "recommender.toml"
    path.write_text(
        '[serve]\ncors_origins = ["https://a.test", "https://b.test"]\n'
        "cache_max_age = 60\nreload_interval = 2\ncompute_threads = 0\n"
    )
    serve = load_config(path).serve
    assert serve == ServeSettings(
        cors_origins=("https://a.test", "https://b.test"),
        cache_max_age=60,
        reload_interval=2.0,
        compute_threads=0,
    )
    assert type(serve.reload_interval) is float
    assert load_config(tmp_path / "recommender.toml").serve.max_body_bytes == 64 * 1024
    path.write_text("[ranking]\nhalf_life_days = 30\n")
    assert load_config(path).serve == ServeSettings()
    path.write_text('[serve]\ncors_origins = "https://a.test"\n')
    assert load_config(path).serve.cors_origins == ("https://a.test",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[serve]\ncors_origin = ['typo']\n", r"\[serve\]: unknown key 'cors_origin'; known: "),
        ("[serve]\ncache_max_age = '60'\n", r"\[serve\]: cache_max_age must be a whole number"),
        ("[serve]\ncache_max_age = -1\n", r"\[serve\]: cache_max_age must not be negative"),
        ("[serve]\nmax_body_bytes = 0\n", r"\[serve\]: max_body_bytes must be at least 1"),
        ("[serve]\nreload_interval = true\n", r"\[serve\]: reload_interval must be a number"),
        ("[serve]\ncors_origins = [1]\n", r"\[serve\]: cors_origins must be a list of strings"),
        ("serve = 3\n", r"\[serve\] must be a table"),
        ("[ranking]\nhalf_life_days = 'long'\n", r"\[ranking\]: half_life_days must be a number"),
    ],
)
def test_config_errors_are_config_errors_naming_file_and_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "recommender.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: ")


def test_serve_settings_in_python_are_checked() -> None:
    with pytest.raises(SettingsError, match="compute_threads must not be negative"):
        ServeSettings(compute_threads=-1)
    with pytest.raises(SettingsError, match="unknown key 'port'"):
        ServeSettings.from_dict({"port": 80})
