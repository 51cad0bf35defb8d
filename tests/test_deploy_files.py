"""docker-compose.yml and infra/ are parsed and checked against the code they run."""

from __future__ import annotations

import importlib.util
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


def test_compose_services_run_existing_code_with_health_checks() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "minio", "api-1", "api-2", "worker", "beat", "flower"} <= services.keys()
    for service in services.values():
        if service.get("image", "").startswith("quarry"):
            _assert_runs_project_code(service["command"])
            _assert_env_names(service["environment"])
    for name in ("postgres", "redis", "minio", "api-1", "worker"):
        assert services[name]["healthcheck"]["test"], name
    assert (ROOT / "infra/nginx.conf").exists()


def _k8s_documents() -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    for path in sorted((ROOT / "infra/k8s").glob("*.yaml")):
        documents += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return documents


def test_kubernetes_manifests_are_well_formed() -> None:
    documents = _k8s_documents()
    kinds = {doc["kind"] for doc in documents}
    assert {"Deployment", "HorizontalPodAutoscaler", "ScaledObject", "PodDisruptionBudget",
            "ConfigMap", "Secret", "Service"} <= kinds
    for doc in documents:
        assert doc["apiVersion"] and doc["metadata"]["name"]
        if doc["kind"] == "Deployment":
            spec = doc["spec"]
            labels = spec["template"]["metadata"]["labels"]
            assert spec["selector"]["matchLabels"].items() <= labels.items()
            for container in spec["template"]["spec"]["containers"]:
                _assert_runs_project_code(container["command"])
                assert container["resources"]["limits"]
        if doc["kind"] == "ConfigMap":
            _assert_env_names(doc["data"])
    beat = next(d for d in documents if d["metadata"]["name"] == "quarry-beat")
    assert beat["spec"]["replicas"] == 1


@pytest.mark.parametrize("path", ["infra/prometheus.yml"])
def test_prometheus_config_parses(path: str) -> None:
    config = yaml.safe_load((ROOT / path).read_text())
    assert all(job["job_name"] for job in config["scrape_configs"])


def test_grafana_dashboard_only_charts_metrics_quarry_exports() -> None:
    import json
    import re

    from shared import metrics

    exported = {m._name for m in vars(metrics).values() if hasattr(m, "_name")}
    exported |= {"quarry_jobs", "quarry_queue_depth", "quarry_queue_oldest_age_seconds"}
    dashboard = json.loads((ROOT / "infra/grafana/quarry-dashboard.json").read_text())
    assert dashboard["panels"]
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            names = set(re.findall(r"quarry_[a-z_]+", target["expr"]))
            bases = {re.sub(r"_(bucket|total|sum|count)$", "", name) for name in names}
            assert bases <= exported | {n.removesuffix("_total") for n in exported}, names
