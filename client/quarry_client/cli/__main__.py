"""`python -m quarry_client.cli`."""

from quarry_client.cli.app import main

main()
