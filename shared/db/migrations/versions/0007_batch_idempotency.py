"""Idempotency-Key on batches

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("batches", sa.Column("idempotency_key", sa.String(255), nullable=True))
    op.add_column("batches", sa.Column("request_hash", sa.String(64), nullable=True))
    op.create_unique_constraint("uq_batches_tenant_idempotency", "batches",
                                ["tenant_id", "idempotency_key"])


def downgrade() -> None:
    op.drop_constraint("uq_batches_tenant_idempotency", "batches")
    op.drop_column("batches", "request_hash")
    op.drop_column("batches", "idempotency_key")
