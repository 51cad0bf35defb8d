"""`python -m quarry_client` runs the CLI."""

from quarry_client.cli import main

main()
