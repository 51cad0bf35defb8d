"""The `quarry` command line.

typer and rich come with the `cli` extra (`pip install "quarry-client[cli]"`); the SDK itself
never imports them, so this entry point checks for them before loading the app.
"""

from __future__ import annotations

import importlib
import sys

MISSING_CLI = ("the quarry command line needs the 'cli' extra: "
               "pip install \"quarry-client[cli]\"  (missing: {names})")


def main() -> None:
    """Console entry point; a clear message (exit 1) when the CLI's extra is not installed."""
    missing = [name for name in ("typer", "rich") if not _importable(name)]
    if missing:
        sys.stderr.write("quarry: " + MISSING_CLI.format(names=", ".join(missing)) + "\n")
        sys.exit(1)
    from quarry_client.cli.app import main as run

    run()


def _importable(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True
