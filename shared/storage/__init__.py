"""Object storage behind one small interface: a local directory or S3."""
