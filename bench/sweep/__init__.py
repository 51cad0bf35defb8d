"""`python -m bench.sweep PATH…`: every file under the paths through the product's checks
and conversion, each in a worker process with a job's limits, counted by outcome."""
