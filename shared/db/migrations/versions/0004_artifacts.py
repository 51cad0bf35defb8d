"""training jobs and trained-pipeline artifacts

Revision ID: 0004
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = postgresql.JSONB(astext_type=sa.Text())
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "training_jobs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("schema", JSON, nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("examples", JSON, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("progress", JSON, nullable=True),
        sa.Column("report", JSON, nullable=True),
        sa.Column("error", JSON, nullable=True),
        sa.Column("artifact_id", sa.String(length=32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("started_at", WHEN, nullable=True),
        sa.Column("finished_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_training_jobs_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_jobs")),
    )
    op.create_index("ix_training_jobs_tenant_created", "training_jobs", ["tenant_id", "created_at"])
    op.create_table(
        "artifacts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("schema", JSON, nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("pipeline", JSON, nullable=False),
        sa.Column("report", JSON, nullable=False),
        sa.Column("training_job_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("retired_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_artifacts_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artifacts")),
    )
    op.create_index("ix_artifacts_tenant_name_version", "artifacts",
                    ["tenant_id", "name", "version"])


def downgrade() -> None:
    op.drop_index("ix_artifacts_tenant_name_version", table_name="artifacts")
    op.drop_table("artifacts")
    op.drop_index("ix_training_jobs_tenant_created", table_name="training_jobs")
    op.drop_table("training_jobs")
