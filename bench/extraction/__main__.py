"""`python -m bench.extraction`: score the local engine and the LLM path on the labeled set."""

from bench.extraction.run import main

main()
