"""`python -m quarry_client.cli`."""

from quarry_client.cli import main

main()
