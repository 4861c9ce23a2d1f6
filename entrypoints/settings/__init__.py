"""The settings of the application, and where they come from.

``Settings`` is a tree of frozen attrs sections; every field has a default and a validator.
``load_settings`` merges, lowest precedence first:

1. the attrs defaults;
2. one config file (YAML, or JSON when it ends in ``.json``): ``config_path`` if given (it must
   exist), else ``./gpt-trader.yaml``, else ``~/.gpt-trader/config.yaml``;
3. environment variables ``GPT_TRADER__SECTION__KEY=value`` (``__`` separates levels, names are
   case-insensitive);
4. command-line overrides ``section.key=value``.

Environment and command-line values are parsed as YAML scalars (``9000`` is an int, ``true`` a bool,
``[a, b]`` a list), except for text settings, which take the text literally (unless it is quoted),
so a secret like ``abc # 1`` or a host like ``1e3`` survives. Mappings merge key by key (so
``cache.ttl.backtest`` alone keeps the other TTLs); a null section (all its keys commented out)
changes nothing. Types are strict: no ``"abc"`` → int, no ``1.5`` → int, no ``"yes"`` → bool.

Every problem is collected and raised at once as one ``InvalidSettingsError`` (a
``ConfigurationError``), each naming the dotted key and where its value came from. The loader is
pure: it reads the environment, working directory and home only through its arguments when given.

The modules, bottom-up: ``secret`` (the ``Secret`` value), ``validators`` (the checks of every
field), ``schema`` (the tree of sections), ``converter`` (the settings edge's cattrs converter),
``keys`` (dotted keys and raw-value parsing), ``sources`` (config files and the layered merge with
origins), ``loader`` (``load_settings``). Import from this package, not from the modules.
"""

from __future__ import annotations

from entrypoints.settings.converter import settings_to_dict
from entrypoints.settings.keys import get_value, parse_value, setting_keys
from entrypoints.settings.loader import load_settings, settings_from_layers
from entrypoints.settings.schema import (
    ApiSettings,
    AuthSettings,
    BacktestSettings,
    CacheSettings,
    CliSettings,
    ExecutorSettings,
    LoadedSettings,
    MarketDataSettings,
    Settings,
    StateSettings,
    SystemSettings,
    WebSocketSettings,
)
from entrypoints.settings.secret import Secret
from entrypoints.settings.sources import (
    COMMAND_LINE,
    DEFAULT,
    DEFAULT_CONFIG_RELATIVE,
    ENV_PREFIX,
    LOCAL_CONFIG_NAME,
    find_config_file,
    parse_config_text,
    read_config_file,
    user_config_path,
)
from entrypoints.settings.validators import InvalidSettingsError

__all__ = [
    "COMMAND_LINE",
    "DEFAULT",
    "DEFAULT_CONFIG_RELATIVE",
    "ENV_PREFIX",
    "LOCAL_CONFIG_NAME",
    "ApiSettings",
    "AuthSettings",
    "BacktestSettings",
    "CacheSettings",
    "CliSettings",
    "ExecutorSettings",
    "InvalidSettingsError",
    "LoadedSettings",
    "MarketDataSettings",
    "Secret",
    "Settings",
    "StateSettings",
    "SystemSettings",
    "WebSocketSettings",
    "find_config_file",
    "get_value",
    "load_settings",
    "parse_config_text",
    "parse_value",
    "read_config_file",
    "setting_keys",
    "settings_from_layers",
    "settings_to_dict",
    "user_config_path",
]
