"""The queue a job belongs on, stored on its row (the sweeper re-sends it there)

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("queue", sa.String(20), nullable=False,
                                    server_default="interactive"))
    # Batch items always ran on `bulk`; single jobs sent before this revision are left on
    # `interactive`, where the sweeper sent them before, since their file kind is not kept.
    op.execute("UPDATE jobs SET queue = 'bulk' WHERE id IN (SELECT job_id FROM batch_items)")


def downgrade() -> None:
    op.drop_column("jobs", "queue")
