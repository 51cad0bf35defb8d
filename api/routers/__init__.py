"""One router module per resource; `api/main.py` includes them all."""
