"""An index for one tenant's webhook deliveries, newest first (the console's list)

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_webhook_deliveries_tenant_created", "webhook_deliveries",
                    ["tenant_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_tenant_created", table_name="webhook_deliveries")
