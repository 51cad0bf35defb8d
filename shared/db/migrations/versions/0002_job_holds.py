"""credits held per job

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("held_credits", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_credit_ledger_tenant_created", "credit_ledger", ["tenant_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_credit_ledger_tenant_created", table_name="credit_ledger")
    op.drop_column("jobs", "held_credits")
