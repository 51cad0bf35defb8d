"""Which uploads have had their stored file purged."""

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, created_at_column


class PurgedUpload(Base):
    __tablename__ = "purged_uploads"

    upload_id: Mapped[str] = mapped_column(ForeignKey("uploads.id"), primary_key=True)
    purged_at: Mapped[datetime] = created_at_column()
