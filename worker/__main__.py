"""`python -m worker [celery worker options]`: a Celery worker whose pool processes
share one Prometheus multiprocess directory.

The directory must be in the environment before Celery's command line starts,
because it (through its plugins) imports prometheus_client, which picks its
storage at import time.
"""

import sys

from worker.metrics_server import prepare_metrics_dir


def main() -> None:
    prepare_metrics_dir()
    from celery.__main__ import main as celery_main

    sys.argv = ["celery", "-A", "worker.celery_app", "worker", *sys.argv[1:]]
    celery_main()


if __name__ == "__main__":
    main()
