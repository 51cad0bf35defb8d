"""docker-compose.yml and infra/ are parsed and checked against the code they run."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SETTING_NAMES = {f"QUARRY_{name.upper()}" for name in Settings.model_fields}


def _module_of(command: list[str]) -> str | None:
    """The Python module a Quarry process command runs (uvicorn app or Celery app)."""
    if command[0] == "uvicorn":
        return command[1].split(":")[0]
    if "-A" in command:
        return command[command.index("-A") + 1]
    if command[:2] == ["python", "-m"]:
        return command[2]
    if command[0] == "quarry-worker":
        return "worker.__main__"
    return None


def _assert_runs_project_code(command: list[str]) -> None:
    module = _module_of(command)
    assert module, f"unrecognised command {command}"
    assert importlib.util.find_spec(module) is not None, f"{module} does not exist"


def _assert_env_names(env: dict[str, Any]) -> None:
    for name in env:
        if name.startswith("QUARRY_"):
            assert name in SETTING_NAMES, f"{name} is not a Quarry setting"


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_compose_services_run_existing_code_with_health_checks() -> None:
    services = _compose()["services"]
    assert {"postgres", "redis", "seaweedfs", "create-bucket", "migrate", "api-1", "api-2", "worker",
            "beat", "flower", "prometheus", "grafana"} <= services.keys()
    for service in services.values():
        if service.get("image", "").startswith("quarry"):
            _assert_runs_project_code(service["command"])
            _assert_env_names(service["environment"])
            assert service["read_only"] is True and "/tmp" in service["tmpfs"]
    for name in ("postgres", "redis", "seaweedfs", "api-1", "worker", "prometheus"):
        assert services[name]["healthcheck"]["test"], name
    assert (ROOT / "infra/nginx.conf").exists()


def test_compose_images_are_pinned_and_maintained() -> None:
    for name, service in _compose()["services"].items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest", f"{name}: {image} is not pinned"
        assert re.search(r"\d", tag), f"{name}: {image} is not pinned to a version"
        assert not repository.startswith("minio/"), "MinIO's community images are no longer published"


def test_compose_creates_the_bucket_the_services_use() -> None:
    services = _compose()["services"]
    bucket = services["api-1"]["environment"]["QUARRY_S3_BUCKET"]
    assert services["api-1"]["environment"]["QUARRY_S3_ENDPOINT_URL"].startswith("http://seaweedfs:")
    assert f"s3.bucket.create -name {bucket}" in " ".join(services["create-bucket"]["entrypoint"])
    for name in ("api-1", "worker"):
        assert services[name]["depends_on"]["create-bucket"]["condition"] == \
            "service_completed_successfully"


def test_flower_needs_a_password_and_listens_on_loopback_only() -> None:
    flower = _compose()["services"]["flower"]
    assert flower["environment"]["FLOWER_BASIC_AUTH"].startswith("${FLOWER_BASIC_AUTH:?")
    assert all(port.startswith("127.0.0.1:") for port in flower["ports"])


def test_grafana_is_provisioned_with_prometheus_and_the_dashboard() -> None:
    grafana = _compose()["services"]["grafana"]
    mounts = {volume.split(":")[0]: volume.split(":")[1] for volume in grafana["volumes"]}
    provisioning = ROOT / mounts["./infra/grafana/provisioning"].replace(
        "/etc/grafana/provisioning", "infra/grafana/provisioning")
    source = yaml.safe_load((provisioning / "datasources/prometheus.yml").read_text())
    assert source["datasources"][0]["url"] == "http://prometheus:9090"
    provider = yaml.safe_load((provisioning / "dashboards/quarry.yml").read_text())
    dashboards_dir = provider["providers"][0]["options"]["path"]
    assert mounts["./infra/grafana/quarry-dashboard.json"].startswith(dashboards_dir + "/")


def test_prometheus_scrapes_api_replicas_and_every_worker_replica() -> None:
    config = yaml.safe_load((ROOT / "infra/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    services = _compose()["services"]
    assert set(jobs["quarry-api"]["static_configs"][0]["targets"]) == {"api-1:8000", "api-2:8000"}
    worker_sd = jobs["quarry-worker"]["dns_sd_configs"][0]
    assert worker_sd["names"] == ["worker"]
    assert str(worker_sd["port"]) == services["worker"]["environment"]["QUARRY_WORKER_METRICS_PORT"]


def test_nginx_keeps_the_clients_request_id() -> None:
    conf = (ROOT / "infra/nginx.conf").read_text()
    assert "proxy_set_header X-Request-ID $request_id;" not in conf
    header = re.search(r"proxy_set_header X-Request-ID (\$\w+);", conf)
    assert header, "nginx must forward X-Request-ID"
    mapped = re.search(r"map \$http_x_request_id " + re.escape(header.group(1)) + r" \{([^}]*)\}", conf)
    assert mapped and "default $http_x_request_id;" in mapped.group(1)


def test_grafana_dashboard_only_charts_metrics_quarry_exports() -> None:
    import json

    from shared import metrics

    exported = {m._name for m in vars(metrics).values() if hasattr(m, "_name")}
    exported |= set(re.findall(r'GaugeMetricFamily\(\s*"(quarry_[a-z_]+)"',
                               Path(metrics.__file__).read_text()))
    dashboard = json.loads((ROOT / "infra/grafana/quarry-dashboard.json").read_text())
    assert dashboard["panels"]
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            names = set(re.findall(r"quarry_[a-z_]+", target["expr"]))
            bases = {re.sub(r"_(bucket|total|sum|count)$", "", name) for name in names}
            assert bases <= exported | {n.removesuffix("_total") for n in exported}, names
            # Gauges every API replica reports identically: summing them multiplies the count.
            for gauge in ("quarry_jobs_open", "quarry_queue_depth", "quarry_batch_items_undispatched"):
                assert not re.search(r"sum[^(]*\([^)]*" + gauge, target["expr"]), target["expr"]


def _pins(text: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", line)
        if match:
            pins[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return pins


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-dev.lock"])
def test_lock_files_hash_every_pin_of_constraints(lock: str) -> None:
    """The hashed locks (`make lock`) install exactly the versions constraints.txt pins; a pin
    added or changed without re-locking fails here rather than installing something else."""
    text = (ROOT / lock).read_text()
    locked = _pins(text)
    constraints = _pins((ROOT / "constraints.txt").read_text())
    assert locked, f"{lock} is empty"
    drift = {name: (version, constraints.get(name)) for name, version in locked.items()
             if constraints.get(name) != version}
    assert not drift, f"{lock} differs from constraints.txt (run `make lock`): {drift}"
    entries = re.split(r"\n(?=[A-Za-z0-9])", text)
    unhashed = [entry.split()[0] for entry in entries if "==" in entry and "--hash=sha256:" not in entry]
    assert not unhashed, unhashed
    assert not re.search(r"^(quarry|quarry-client)==", text, re.M), "the project installs from source"


def test_image_and_make_install_from_the_hashed_locks() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--require-hashes" in dockerfile and "-r requirements.lock" in dockerfile
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes" in makefile and "-r requirements-dev.lock" in makefile
    assert re.search(r"^lock:", makefile, re.M)
