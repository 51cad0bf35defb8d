# The Quarry server image: one image for the API, workers, beat and Flower (the command picks).
# tests/test_image_env.py builds this image's Python environment by running the build stage's
# own `pip install` line in a fresh venv, then starts the API, a worker and beat from it.

# --- build: resolve and install into a venv; pip, the build backend and the source stay here ---
FROM python:3.11.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/quarry
WORKDIR /src
COPY pyproject.toml requirements.lock README.md ./
COPY api ./api
COPY worker ./worker
COPY shared ./shared
COPY stack ./stack
# Runtime dependencies only (no dev/local extras): requirements.lock (`make lock`) pins every
# one to the version constraints.txt names and checks each file against its sha256. Quarry is
# then built from the source above without dependencies, with the lock's setuptools: pip cannot
# hash a local directory, so under --require-hashes the project goes in a second --no-deps step.
RUN /opt/quarry/bin/pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock
RUN /opt/quarry/bin/pip install --no-cache-dir --no-deps --no-build-isolation .

# --- runtime: the venv only, a non-root user, nothing writable outside /tmp ---
FROM python:3.11.11-slim-bookworm
# OCR (opencv via rapidocr) needs libGL and glib at run time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin quarry
COPY --from=build /opt/quarry /opt/quarry
# The code runs from the venv's site-packages; /app holds nothing but is the working directory.
# With a read-only root filesystem, /tmp (a tmpfs or emptyDir) takes the data directory: worker
# metrics files, beat's schedule, local scratch, and HOME (for any library's cache).
ENV PATH=/opt/quarry/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LITELLM_LOCAL_MODEL_COST_MAP=True \
    HOME=/tmp \
    QUARRY_DATA_DIR=/tmp/quarry
WORKDIR /app
USER 10001:10001
EXPOSE 8000 9808
# The API answers /healthz on 8000; a worker sets HEALTHCHECK_URL to its metrics port
# (http://127.0.0.1:9808/metrics). No curl in the image: Python's standard library does it.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ.get('HEALTHCHECK_URL', 'http://127.0.0.1:8000/healthz'), timeout=4)"]
CMD ["uvicorn", "api.main:app", "--host", "0.0.0.0", "--port", "8000", "--timeout-graceful-shutdown", "20"]
