"""The one-command local stack: embedded servers, migrations, dev keys, API and worker."""
