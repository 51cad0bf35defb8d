"""The plan a tenant is on (docs/plans.md); NULL means the deployment's default plan

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing tenants stay NULL: they keep the default plan, `standard` unless configured.
    op.add_column("tenants", sa.Column("plan", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("tenants", "plan")
