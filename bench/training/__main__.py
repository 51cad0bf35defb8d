"""`python -m bench.training`: accuracy before/after training and extraction speed."""

from bench.training.run import main

main()
