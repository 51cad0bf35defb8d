"""Pin an upload's bytes: the SHA-256 of what was first stored or read

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("uploads", sa.Column("sha256", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("uploads", "sha256")
