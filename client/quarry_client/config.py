"""Where the CLI finds its API key and URL: flags, then env vars, then a TOML config file."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from quarry_client.flow import DEFAULT_URL, env_base_url


def config_path() -> Path:
    """`$QUARRY_CONFIG`, else `$XDG_CONFIG_HOME/quarry/config.toml` (~/.config by default)."""
    explicit = os.environ.get("QUARRY_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "quarry" / "config.toml"


@dataclass(frozen=True)
class Connection:
    api_key: str | None
    url: str


def resolve_connection(api_key: str | None = None, url: str | None = None,
                       config_file: Path | None = None) -> Connection:
    """Flags win over `QUARRY_API_KEY`/`QUARRY_BASE_URL` (or `QUARRY_URL`), which win over
    `api_key`/`base_url` (or `url`) in the file."""
    path = config_file or config_path()
    values: dict[str, object] = {}
    if path.is_file():
        with path.open("rb") as handle:
            values = tomllib.load(handle)
    key = api_key or os.environ.get("QUARRY_API_KEY") or _text(values.get("api_key"))
    base = (url or env_base_url() or _text(values.get("base_url")) or _text(values.get("url"))
            or DEFAULT_URL)
    return Connection(api_key=key, url=base)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
