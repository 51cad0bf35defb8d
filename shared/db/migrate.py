"""Apply Alembic migrations from code (used by `make up`, the CLI and the tests)."""

from pathlib import Path

from alembic import command
from alembic.config import Config

_INI = Path(__file__).with_name("alembic.ini")


def alembic_config() -> Config:
    return Config(str(_INI))


def upgrade_database() -> None:
    """Bring the configured database to the newest schema; safe to run twice."""
    command.upgrade(alembic_config(), "heads")
