"""The Helm chart, rendered by Helm's own engine (`helm-python-sdk` binds Helm's Go SDK) and
checked as a cluster would see it: core objects against the Kubernetes JSON schemas
(`kubernetes-validate`, strict: unknown fields are errors), KEDA objects structurally, and every
process command, setting, queue and metric name against the code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from shared.jobs.states import QUEUES
from tests.test_deploy_files import SETTING_NAMES, _assert_runs_project_code

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "infra/helm/quarry"
KUBE_VERSION = "1.30.0"
POOLS = {"interactive", "ocr", "bulk", "webhooks", "training"}
BASE_VALUES = {"existingSecret": "quarry-secrets"}


def render(values: dict[str, Any] | None = None, *, upgrade: bool = False) -> list[dict[str, Any]]:
    chart = helm.Chart.load(CHART)
    manifests = chart.render({**BASE_VALUES, **(values or {})}, name="prod", namespace="quarry",
                             is_install=not upgrade, is_upgrade=upgrade)
    documents: list[dict[str, Any]] = []
    for path, text in manifests.items():
        if path.endswith(".yaml"):
            documents += [doc for doc in yaml.safe_load_all(text) if doc]
    return documents


def by_kind(documents: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in documents if doc["kind"] == kind}


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return render()


def test_chart_lints_clean() -> None:
    report = helm.lint(CHART, BASE_VALUES, strict=True, kube_version=f"v{KUBE_VERSION}")
    errors = [m for m in report["messages"] if m["severity"] >= 2] + report.get("errors", [])
    assert not errors, errors


def test_core_objects_match_the_kubernetes_schemas(objects: list[dict[str, Any]]) -> None:
    checked = set()
    for doc in objects:
        if doc["apiVersion"].startswith("keda.sh/"):
            continue
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
        checked.add(doc["kind"])
    assert {"Deployment", "Service", "ConfigMap", "Job", "Ingress", "PodDisruptionBudget",
            "HorizontalPodAutoscaler", "ServiceAccount"} <= checked
    assert "Secret" not in checked, "secrets come from an existing Secret, never the chart"


def test_a_pool_per_queue_one_beat_and_every_pod_hardened(objects: list[dict[str, Any]]) -> None:
    deployments = by_kind(objects, "Deployment")
    pools = {name.removeprefix("prod-quarry-worker-"): d for name, d in deployments.items()
             if "-worker-" in name}
    assert pools.keys() == POOLS
    consumed: list[str] = []
    for deployment in pools.values():
        command = deployment["spec"]["template"]["spec"]["containers"][0]["command"]
        consumed += command[command.index("-Q") + 1].split(",")
    assert sorted(consumed) == sorted(QUEUES), "every queue is consumed by exactly one pool"
    beat = deployments["prod-quarry-beat"]
    assert beat["spec"]["replicas"] == 1 and beat["spec"]["strategy"]["type"] == "Recreate"
    configmap = next(iter(by_kind(objects, "ConfigMap").values()))
    for name in configmap["data"]:
        assert not name.startswith("QUARRY_") or name in SETTING_NAMES, name
    for deployment in [*deployments.values(), *by_kind(objects, "Job").values()]:
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        if deployment["kind"] == "Deployment":
            assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
        for container in pod["containers"]:
            _assert_runs_project_code(container["command"])
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
            assert container["resources"]["limits"] and container["resources"]["requests"]
            assert ":latest" not in container["image"]
            assert {"secretRef": {"name": "quarry-secrets"}} in container["envFrom"]


def test_probes_and_scrapeable_metrics_ports(objects: list[dict[str, Any]]) -> None:
    deployments = by_kind(objects, "Deployment")
    api = deployments["prod-quarry-api"]["spec"]["template"]
    container = api["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert api["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    for name, deployment in deployments.items():
        if "-worker-" not in name:
            continue
        template = deployment["spec"]["template"]
        worker = template["spec"]["containers"][0]
        ports = {port["name"]: port["containerPort"] for port in worker["ports"]}
        env = {item["name"]: item["value"] for item in worker["env"]}
        annotations = template["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == str(ports["metrics"])
        assert env["QUARRY_WORKER_METRICS_PORT"] == str(ports["metrics"])
        assert worker["livenessProbe"] and worker["startupProbe"]["httpGet"]["port"] == "metrics"


def test_disruption_budgets_select_real_pods(objects: list[dict[str, Any]]) -> None:
    pod_labels = [d["spec"]["template"]["metadata"]["labels"]
                  for d in by_kind(objects, "Deployment").values()]
    budgets = by_kind(objects, "PodDisruptionBudget")
    assert len(budgets) == 1 + len(POOLS)
    for budget in budgets.values():
        selector = budget["spec"]["selector"]["matchLabels"]
        assert sum(selector.items() <= labels.items() for labels in pod_labels) == 1


def test_each_pool_scales_on_its_own_backlog(objects: list[dict[str, Any]]) -> None:
    from shared import metrics

    deployments = by_kind(objects, "Deployment")
    scaled = by_kind(objects, "ScaledObject")
    assert {name.removeprefix("prod-quarry-worker-") for name in scaled} == POOLS
    exported = _metric_names(Path(metrics.__file__).read_text())
    for name, scaled_object in scaled.items():
        spec = scaled_object["spec"]
        assert spec["scaleTargetRef"]["name"] == name and name in deployments
        command = deployments[name]["spec"]["template"]["spec"]["containers"][0]["command"]
        queues = command[command.index("-Q") + 1].split(",")
        redis_lists = [t["metadata"]["listName"] for t in spec["triggers"] if t["type"] == "redis"]
        assert redis_lists == queues, f"{name} must watch the lists of the queues it consumes"
        for trigger in spec["triggers"]:
            assert all(isinstance(value, str) for value in trigger["metadata"].values())
        assert spec["minReplicaCount"] <= spec["maxReplicaCount"]
    bulk = scaled["prod-quarry-worker-bulk"]["spec"]["triggers"]
    prometheus = [t["metadata"] for t in bulk if t["type"] == "prometheus"]
    assert prometheus, "the bulk backlog lives in Postgres: scale on undispatched batch items"
    query_metrics = set(re.findall(r"quarry_[a-z_]+", prometheus[0]["query"]))
    assert query_metrics == {"quarry_batch_items_undispatched"} <= exported
    assert prometheus[0]["query"].startswith("max("), "API replicas report the same gauge"


def _metric_names(source: str) -> set[str]:
    return set(re.findall(r'"(quarry_[a-z_]+)"', source))


def test_migrations_run_as_a_pre_install_and_pre_upgrade_hook() -> None:
    for upgrade in (False, True):
        jobs = by_kind(render(upgrade=upgrade), "Job")
        (job,) = jobs.values()
        hooks = job["metadata"]["annotations"]["helm.sh/hook"].split(",")
        assert {"pre-install", "pre-upgrade"} <= set(hooks)
        container = job["spec"]["template"]["spec"]["containers"][0]
        assert container["command"][-1] == "migrate"
        assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_ingress_routes_to_the_api_service(objects: list[dict[str, Any]]) -> None:
    (ingress,) = by_kind(objects, "Ingress").values()
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    service = by_kind(objects, "Service")[backend["name"]]
    assert backend["port"]["name"] in {port["name"] for port in service["spec"]["ports"]}


def test_without_keda_pools_run_fixed_replicas_and_without_a_secret_rendering_fails() -> None:
    objects = render({"keda": {"enabled": False}})
    assert not by_kind(objects, "ScaledObject")
    for name, deployment in by_kind(objects, "Deployment").items():
        if "-worker-" in name:
            assert deployment["spec"]["replicas"] >= 1
    with pytest.raises(helm.HelmError, match="existingSecret"):
        helm.Chart.load(CHART).render({}, name="prod", namespace="quarry")


def test_plain_manifests_are_gone_in_favour_of_the_chart() -> None:
    assert not list((ROOT / "infra/k8s").glob("*.yaml")), "render the chart instead"
