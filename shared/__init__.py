"""Code shared by the API and the workers: settings, data, storage, files, billing."""
