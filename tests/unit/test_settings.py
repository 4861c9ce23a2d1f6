"""Settings: defaults, precedence and sources, strict validation with located errors, config edits."""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from entrypoints.config_file import set_config_value
from entrypoints.settings import (
    COMMAND_LINE,
    DEFAULT,
    ApiSettings,
    InvalidSettingsError,
    LoadedSettings,
    MarketDataSettings,
    Secret,
    Settings,
    get_value,
    load_settings,
    parse_value,
    read_config_file,
    setting_keys,
    settings_to_dict,
    user_config_path,
)
from gpt_trader_core.errors import ConfigurationError

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"


def load(tmp_path: Path, **kwargs: Any) -> LoadedSettings:
    """The loader isolated from the real environment, working directory and home."""
    kwargs.setdefault("env", {})
    return load_settings(cwd=tmp_path, home=tmp_path, **kwargs)


def problems_of(tmp_path: Path, **kwargs: Any) -> list[str]:
    with pytest.raises(InvalidSettingsError) as info:
        load(tmp_path, **kwargs)
    assert isinstance(info.value, ConfigurationError)
    assert all(p in str(info.value) for p in info.value.problems)
    return list(info.value.problems)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- reference files


def test_default_yaml_lists_every_key_with_the_attrs_defaults(tmp_path: Path) -> None:
    defaults = settings_to_dict(Settings(), redact=False)
    assert read_config_file(CONFIG_DIR / "default.yaml") == defaults  # every key, same values
    loaded = load(tmp_path, config_path=CONFIG_DIR / "default.yaml")
    assert settings_to_dict(loaded.settings, redact=False) == defaults
    assert loaded.settings == Settings()


def test_example_redis_only_holds_keys_that_differ(tmp_path: Path) -> None:
    path = CONFIG_DIR / "example-redis.yaml"
    loaded = load(tmp_path, config_path=path)
    assert loaded.settings.cache.backend == "redis"
    from_file = {key for key, source in loaded.sources.items() if source == str(path)}
    assert from_file and "cache.backend" in from_file
    for key in from_file:
        assert get_value(loaded.settings, key) != get_value(Settings(), key), key
    assert loaded.settings.cache.ttl["default"] == 300  # ttl entries merge with the defaults


# --------------------------------------------------------------------------- sources and precedence


def test_no_file_no_env_gives_the_defaults(tmp_path: Path) -> None:
    loaded = load(tmp_path)
    assert loaded.settings == Settings()
    assert loaded.config_file is None
    assert set(loaded.sources.values()) == {DEFAULT}
    assert {"api.port", "api.auth.jwt_secret", "cache.ttl.default"} <= set(loaded.sources)


def test_config_file_discovery_prefers_the_working_directory(tmp_path: Path) -> None:
    home_file = write(user_config_path(tmp_path / "home"), "api: {port: 1111}\n")
    cwd = tmp_path / "work"
    cwd.mkdir()
    loaded = load_settings(env={}, cwd=cwd, home=tmp_path / "home")
    assert (loaded.config_file, loaded.settings.api.port) == (home_file, 1111)
    local = write(cwd / "gpt-trader.yaml", "api: {port: 2222}\n")
    loaded = load_settings(env={}, cwd=cwd, home=tmp_path / "home")
    assert (loaded.config_file, loaded.settings.api.port) == (local, 2222)
    assert loaded.sources["api.port"] == str(local)


def test_precedence_defaults_file_env_command_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "conf.yaml",
        "api:\n  port: 1000\n  workers: 2\nwebsocket:\n  port: 1001\nbacktest:\n  cash: 5\n",
    )
    env = {
        "GPT_TRADER__API__PORT": "2000",
        "GPT_TRADER__WEBSOCKET__PORT": "2001",
        "GPT_TRADER__CLI__COLOR_OUTPUT": "false",
    }
    loaded = load(tmp_path, config_path=path, env=env, overrides=["api.port=3000", "cli.default_format=json"])
    s, sources = loaded.settings, loaded.sources
    assert loaded.config_file == path
    assert (s.api.port, sources["api.port"]) == (3000, COMMAND_LINE)
    assert (s.websocket.port, sources["websocket.port"]) == (2001, "GPT_TRADER__WEBSOCKET__PORT")
    assert (s.cli.color_output, sources["cli.color_output"]) == (False, "GPT_TRADER__CLI__COLOR_OUTPUT")
    assert (s.api.workers, sources["api.workers"]) == (2, str(path))
    assert (s.backtest.cash, sources["backtest.cash"]) == (5.0, str(path))
    assert isinstance(s.backtest.cash, float)
    assert (s.cli.default_format, sources["cli.default_format"]) == ("json", COMMAND_LINE)
    assert (s.api.host, sources["api.host"]) == ("127.0.0.1", DEFAULT)


def test_relative_config_path_is_taken_from_cwd(tmp_path: Path) -> None:
    write(tmp_path / "sub" / "c.yaml", "api: {port: 4242}\n")
    assert load(tmp_path, config_path="sub/c.yaml").settings.api.port == 4242


def test_env_names_are_case_insensitive_and_other_vars_ignored(tmp_path: Path) -> None:
    env = {"gpt_trader__Api__Port": "9000", "GPT_TRADER_API_WORKERS": "x", "PATH": "/bin", "HOME": "/h"}
    assert load(tmp_path, env=env).settings.api.port == 9000


def test_env_and_command_line_values_are_yaml_scalars_but_text_stays_literal(tmp_path: Path) -> None:
    env = {
        "GPT_TRADER__API__CORS_ORIGINS": "[http://a.example, http://b.example]",
        "GPT_TRADER__API__AUTH__ENABLED": "false",
        "GPT_TRADER__API__AUTH__JWT_SECRET": "s3cret # not a comment",
        "GPT_TRADER__API__HOST": "12345",
        "GPT_TRADER__CACHE__TTL__BACKTEST": "10",
    }
    overrides = {
        "market_data.path": "'quoted.csv'",
        "market_data.source": "csv",
        "backtest.commission": "0.001",
    }
    s = load(tmp_path, env=env, overrides=overrides).settings
    assert s.api.cors_origins == ("http://a.example", "http://b.example")
    assert s.api.auth.enabled is False
    assert s.api.auth.jwt_secret.get_secret_value() == "s3cret # not a comment"
    assert s.api.host == "12345"
    assert s.cache.ttl == {"market_data": 3600, "backtest": 10, "default": 300}
    assert (s.market_data.source, s.market_data.path) == ("csv", "quoted.csv")
    assert s.backtest.commission == 0.001
    nulled = load(tmp_path, overrides=["executor.scheduler_address=tcp://x:8786", "executor.scheduler_address=null"])
    assert nulled.settings.executor.scheduler_address is None


def test_json_config_file(tmp_path: Path) -> None:
    path = write(tmp_path / "c.json", json.dumps({"api": {"port": 9100, "cors_origins": ["*"]}}))
    loaded = load(tmp_path, config_path=path)
    assert (loaded.settings.api.port, loaded.settings.api.cors_origins) == (9100, ("*",))
    assert loaded.sources["api.port"] == str(path)


def test_a_section_with_all_keys_commented_out_is_empty(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "api:\n  # port: 1\ncache:\n  ttl:\n")
    assert load(tmp_path, config_path=path).settings == Settings()


# --------------------------------------------------------------------------- errors


def test_unknown_key_names_file_and_suggests(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "api:\n  prot: 9000\napii: {}\n")
    problems = problems_of(tmp_path, config_path=path)
    assert f"unknown key 'api.prot' (from {path}); did you mean 'api.port'?" in problems
    assert f"unknown key 'apii' (from {path}); did you mean 'api'?" in problems


def test_wrong_types_are_not_coerced(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.yaml",
        "api:\n  workers: 1.5\n  host: 8080\n  cors_origins: http://x\n"
        "cli:\n  color_output: 'yes'\nbacktest:\n  cash: abc\n",
    )
    problems = problems_of(tmp_path, config_path=path)
    assert f"api.workers: expected an int, got 1.5 (from {path})" in problems
    assert any(p.startswith("api.host: expected a string, got 8080") for p in problems)
    assert f"api.cors_origins: expected a list of strings, got 'http://x' (from {path})" in problems
    assert f"cli.color_output: expected true or false, got 'yes' (from {path})" in problems
    assert f"backtest.cash: expected a number, got 'abc' (from {path})" in problems
    assert len(problems) == 5


def test_bad_values(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "system:\n  mode: server\ncache:\n  ttl:\n    backtest: -1\n")
    problems = problems_of(tmp_path, config_path=path)
    assert f"system.mode: expected one of 'cli', 'api', 'websocket', 'all', got 'server' (from {path})" in problems
    assert f"cache.ttl.backtest: must be >= 0 seconds (0 = no expiry), got -1 (from {path})" in problems


def test_file_sources_need_a_path_named_with_the_origin_of_the_source(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, env={"GPT_TRADER__MARKET_DATA__SOURCE": "parquet"})
    assert len(problems) == 1
    assert problems[0].startswith("market_data.path: required when market_data.source is 'parquet'")
    assert problems[0].endswith("(from environment variable GPT_TRADER__MARKET_DATA__SOURCE)")


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "api:\n  port: 8000\n  host: [unclosed\ncli: {}\n")
    [problem] = problems_of(tmp_path, config_path=path)
    assert problem.startswith(f"{path}: invalid YAML at line ")
    bad_json = write(tmp_path / "c.json", '{\n  "api": {"port": 1,}\n}')
    [problem] = problems_of(tmp_path, config_path=bad_json)
    assert problem.startswith(f"{bad_json}: invalid JSON at line 2, column")
    top_list = write(tmp_path / "l.yaml", "- a\n")
    [problem] = problems_of(tmp_path, config_path=top_list)
    assert "expected a mapping of sections" in problem


def test_invalid_yaml_line_number_is_the_offending_line(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "api:\n  port: 8000\n  host: a: b\n")
    [problem] = problems_of(tmp_path, config_path=path)
    assert f"{path}: invalid YAML at line 3, column" in problem


def test_missing_config_file_given_explicitly(tmp_path: Path) -> None:
    [problem] = problems_of(tmp_path, config_path=tmp_path / "nope.yaml")
    assert problem == f"config file {tmp_path / 'nope.yaml'} does not exist"


def test_env_error_names_the_variable(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, env={"GPT_TRADER__API__PORT": "abc", "GPT_TRADER__API__PROT": "1"})
    assert "api.port: expected an int, got 'abc' (from environment variable GPT_TRADER__API__PORT)" in problems
    assert (
        "unknown key 'api.prot' (from environment variable GPT_TRADER__API__PROT); did you mean 'api.port'?" in problems
    )


def test_command_line_errors_say_command_line(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, overrides=["api.port=70000", "backtest.commission=0.5", "oops"])
    assert "api.port: 70000 is out of range 1..65535 (from command line)" in problems
    assert "backtest.commission: must be in [0, 0.1), got 0.5 (from command line)" in problems
    assert "command line: expected KEY=VALUE such as api.port=9000, got 'oops'" in problems


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "api:\n  prot: 1\n  workers: 0\nwebsocket:\n  max_connections: x\n")
    with pytest.raises(InvalidSettingsError) as info:
        load(
            tmp_path,
            config_path=path,
            env={"GPT_TRADER__EXECUTOR__WORKERS": "-1"},
            overrides=["api.port=0"],
        )
    problems = info.value.problems
    assert len(problems) == 5
    assert str(info.value).startswith("invalid configuration (5 problems): ")
    joined = "\n".join(problems)
    for fragment in (
        "api.prot",
        "api.workers: must be >= 1, got 0",
        "websocket.max_connections",
        "executor.workers",
    ):
        assert fragment in joined
    assert "api.port: 0 is out of range 1..65535 (from command line)" in problems


def test_secret_values_never_appear_in_errors(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "api:\n  auth:\n    jwt_secret: 123456789\ncache:\n  redis_url: http://u:pw@h\n")
    joined = "\n".join(problems_of(tmp_path, config_path=path))
    assert "api.auth.jwt_secret: expected a string" in joined
    assert "cache.redis_url: expected a redis:// or rediss:// URL" in joined
    assert "123456789" not in joined and "pw" not in joined


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(ValueError, match=r"port: 0 is out of range 1\.\.65535"):
        ApiSettings(port=0)
    with pytest.raises(ValueError, match=r"market_data\.path: required"):
        Settings(market_data=MarketDataSettings(source="csv"))


# --------------------------------------------------------------------------- secrets and output


def test_secrets_are_redacted(tmp_path: Path) -> None:
    env = {
        "GPT_TRADER__API__AUTH__JWT_SECRET": "topsecret",
        "GPT_TRADER__CACHE__REDIS_URL": "redis://:hunter2@cache:6379/0",
        "GPT_TRADER__STATE__URL": "postgresql://app:pa55word@db/gpt",
    }
    s = load(tmp_path, env=env).settings
    text = repr(s) + str(settings_to_dict(s)) + json.dumps(settings_to_dict(s)) + f"{s.api.auth.jwt_secret}"
    for secret in ("topsecret", "hunter2", "pa55word"):
        assert secret not in text
    shown = settings_to_dict(s)
    assert shown["api"]["auth"]["jwt_secret"] == "***"
    assert shown["cache"]["redis_url"] == "***"
    assert shown["state"]["url"] == "postgresql://app:***@db/gpt"
    raw = settings_to_dict(s, redact=False)
    assert raw["api"]["auth"]["jwt_secret"] == "topsecret"
    assert raw["state"]["url"] == "postgresql://app:pa55word@db/gpt"
    assert s.api.auth.jwt_secret.get_secret_value() == "topsecret"
    assert settings_to_dict(Settings())["api"]["auth"]["jwt_secret"] == ""  # unset stays visibly unset
    assert not Secret("") and Secret("x") and repr(Secret("x")) == "Secret('***')"


def test_get_value_and_keys() -> None:
    s = Settings()
    assert get_value(s, "api.port") == 8000
    assert get_value(s, "cache.ttl.backtest") == 86_400
    assert get_value(s, "api.auth") == s.api.auth
    with pytest.raises(ConfigurationError, match=r"unknown key 'api\.prot'; did you mean 'api\.port'\?"):
        get_value(s, "api.prot")
    with pytest.raises(ConfigurationError, match="no entry 'nope'"):
        get_value(s, "cache.ttl.nope")
    keys = setting_keys()
    assert "api.port" in keys and "api.auth.jwt_secret" in keys
    assert "api" not in keys and "api.auth" not in keys
    assert parse_value("api.port", "9000") == 9000
    with pytest.raises(ConfigurationError, match="is a section"):
        parse_value("api.auth", "x")


def test_the_redis_backend_without_its_package_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # as if the redis extra were not installed
    with pytest.raises(InvalidSettingsError, match=r'cache\.backend: .*pip install "gpt-trader\[redis\]"') as error:
        load(tmp_path, overrides=["cache.backend=redis"])
    assert error.value.exit_code == 2 and "(from command line)" in str(error.value)
    assert load(tmp_path).settings.cache.backend == "memory"  # the default needs nothing extra


def test_package_data_points_at_files_that_exist() -> None:
    pyproject = tomllib.loads((CONFIG_DIR.parent / "pyproject.toml").read_text())
    package_data = pyproject["tool"].get("setuptools", {}).get("package-data", {})
    for package, patterns in package_data.items():
        root = CONFIG_DIR.parent / package.replace(".", "/")
        for pattern in patterns:
            assert list(root.glob(pattern)), f"package data {package}: {pattern} matches no file"


# --------------------------------------------------------------------------- config file edits


def test_set_config_value_keeps_comments_and_round_trips(tmp_path: Path) -> None:
    path = write(
        tmp_path / "config.yaml",
        "# my settings\napi:  # the HTTP server\n    port: 8000    # old port\n    cors_origins:\n"
        "      - http://x\n    # about the cache\ncache:\n  backend: memory\n",
    )
    set_config_value(path, "api.port", "9000")
    set_config_value(path, "api.cors_origins", "[http://a, http://b]")
    set_config_value(path, "api.auth.jwt_secret", "abc # def")
    set_config_value(path, "cache.ttl.backtest", "60")
    set_config_value(path, "executor.kind", "dask")
    text = path.read_text()
    for kept in (
        "# my settings",
        "api:  # the HTTP server",
        "    port: 9000    # old port",
        "    # about the cache",
    ):
        assert kept in text
    assert "http://x" not in text
    loaded = load(tmp_path, config_path=path)
    s = loaded.settings
    assert s.api.port == 9000 and loaded.sources["api.port"] == str(path)
    assert s.api.cors_origins == ("http://a", "http://b")
    assert s.api.auth.jwt_secret.get_secret_value() == "abc # def"
    assert s.cache.ttl["backtest"] == 60 and s.cache.backend == "memory"
    assert s.executor.kind == "dask"


def test_set_config_value_creates_the_file(tmp_path: Path) -> None:
    path = user_config_path(tmp_path)
    set_config_value(path, "api.auth.access_token_ttl", "60")
    assert path.read_text().startswith("#")
    assert path.stat().st_mode & 0o077 == 0  # may hold secrets
    assert load_settings(env={}, cwd=tmp_path, home=tmp_path).settings.api.auth.access_token_ttl == 60


def test_set_config_value_refuses_bad_input_and_leaves_the_file(tmp_path: Path) -> None:
    original = "api:\n  port: 8000  # keep\n"
    path = write(tmp_path / "c.yaml", original)
    with pytest.raises(ConfigurationError, match=r"did you mean 'api\.port'"):
        set_config_value(path, "api.prot", "1")
    with pytest.raises(ConfigurationError, match=r"api\.port: 70000 is out of range"):
        set_config_value(path, "api.port", "70000")
    with pytest.raises(ConfigurationError, match=r"market_data\.path: required"):
        set_config_value(path, "market_data.source", "csv")
    assert path.read_text() == original


def test_set_config_value_edits_flow_style_in_place(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "api: {port: 1234}  # flow style\n")
    set_config_value(path, "api.host", "0.0.0.0")
    assert path.read_text().startswith("api: {port: 1234, host: 0.0.0.0}") and "# flow style" in path.read_text()
    set_config_value(path, "api.auth.jwt_secret", "yes")  # text, though YAML 1.1 reads yes as true
    assert load(tmp_path, config_path=path).settings.api.auth.jwt_secret.get_secret_value() == "yes"


def test_set_config_value_rewrites_a_layout_it_cannot_edit(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "api:\n  port: 1\napi:\n  port: 1234  # a duplicate key wins\n")
    set_config_value(path, "api.host", "0.0.0.0")
    assert path.read_text().startswith("# gpt-trader configuration")
    s = load(tmp_path, config_path=path).settings
    assert (s.api.port, s.api.host) == (1234, "0.0.0.0")


def test_set_config_value_in_a_json_file(tmp_path: Path) -> None:
    path = write(tmp_path / "c.json", '{"api": {"port": 1234}}')
    set_config_value(path, "websocket.port", "9001")
    assert json.loads(path.read_text()) == {"api": {"port": 1234}, "websocket": {"port": 9001}}


# --------------------------------------------------------------------------- property


@settings(max_examples=100, deadline=None)
@given(
    port=st.integers(1, 65_535),
    api_workers=st.integers(1, 512),
    executor_workers=st.integers(0, 512),
    ws_port=st.integers(1, 65_535),
)
def test_env_round_trip_is_exact(port: int, api_workers: int, executor_workers: int, ws_port: int) -> None:
    env = {
        "GPT_TRADER__API__PORT": str(port),
        "GPT_TRADER__API__WORKERS": str(api_workers),
        "GPT_TRADER__EXECUTOR__WORKERS": str(executor_workers),
        "GPT_TRADER__WEBSOCKET__PORT": str(ws_port),
    }
    nowhere = Path("/nonexistent-gpt-trader-test")
    loaded = load_settings(env=env, cwd=nowhere, home=nowhere)
    s = loaded.settings
    assert (s.api.port, s.api.workers, s.executor.workers, s.websocket.port) == (
        port,
        api_workers,
        executor_workers,
        ws_port,
    )
    assert all(loaded.sources[key] == name for name in env for key in [name[12:].lower().replace("__", ".")])
    # and back: the settings' own values, fed through the environment, give the same settings
    back = {f"GPT_TRADER__{k.upper().replace('.', '__')}": str(get_value(s, k)) for k in ("api.port", "api.workers")}
    assert load_settings(env=back, cwd=nowhere, home=nowhere).settings.api == s.api
