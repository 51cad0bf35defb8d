"""Client benchmark: `python -m bench.client`."""
