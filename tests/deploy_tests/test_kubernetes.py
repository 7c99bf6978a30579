"""deploy/kubernetes/*.yaml are valid Kubernetes objects (checked against the Kubernetes OpenAPI
schemas that kubernetes-validate ships, strict: an unknown field is an error) and every
container runs a real sweeper command; no cluster, container engine or GPU is needed."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import typer
import yaml

from sweeper.cli.app import app

REPO = Path(__file__).resolve().parents[2]
KUBERNETES = REPO / "deploy" / "kubernetes"
MANIFESTS = sorted(KUBERNETES.glob("*.yaml"))
#: The Kubernetes version the manifests are written for (its schemas ship with the package).
KUBERNETES_VERSION = "1.30.0"
IMAGE = "registry.example.org/gnn-sweeper:latest"
PLACEHOLDER = "CHANGE-ME"
Doc = dict[str, Any]


def validate(doc: Doc) -> str:
    """Validate one object against the Kubernetes schemas; the schema version used."""
    return kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def load(path: Path) -> list[Doc]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


@pytest.fixture(scope="module")
def docs() -> list[Doc]:
    return [doc for path in MANIFESTS for doc in load(path)]


def find(docs: list[Doc], kind: str, name: str) -> Doc:
    (doc,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def pod_spec(doc: Doc) -> Doc:
    return doc["spec"]["template"]["spec"]


def containers(docs: list[Doc]) -> Iterator[tuple[Doc, Doc]]:
    """(object, container) for every container of every workload."""
    for doc in docs:
        if "template" in doc.get("spec", {}):
            for container in pod_spec(doc)["containers"]:
                yield doc, container


def env_secret(container: Doc, name: str) -> tuple[str, str]:
    (var,) = [v for v in container.get("env", []) if v["name"] == name]
    ref = var["valueFrom"]["secretKeyRef"]
    return ref["name"], ref["key"]


def secret_data(docs: list[Doc]) -> dict[str, dict[str, str]]:
    return {d["metadata"]["name"]: d["stringData"] for d in docs if d["kind"] == "Secret"}


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the validation tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_the_expected_manifests_are_there() -> None:
    assert [path.name for path in MANIFESTS] == [
        "create-study.yaml",
        "dashboard.yaml",
        "postgres.yaml",
        "proxy.yaml",
        "storage-secret.yaml",
        "workers.yaml",
    ]


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda path: path.name)
@pytest.mark.usefixtures("no_network")
def test_every_object_is_valid_against_the_kubernetes_schemas(path: Path) -> None:
    objects = load(path)
    assert objects
    for doc in objects:
        assert validate(doc) == "1.30", doc["metadata"]["name"]
        labels = doc["metadata"]["labels"]
        assert labels["app.kubernetes.io/part-of"] == "gnn-sweeper"
        assert labels["app.kubernetes.io/name"]
    # each file says what it is and how to apply it
    header = path.read_text().split("\napiVersion:", 1)[0]
    assert header.startswith("# gnn-sweeper: ")
    assert f"kubectl apply -f deploy/kubernetes/{path.name}" in header


@pytest.mark.parametrize(
    "break_it",
    [
        pytest.param(lambda job: job["spec"].update(parallelism="eight"), id="parallelism-eight"),
        pytest.param(lambda job: pod_spec(job)["containers"][0].update(arg=[]), id="unknown-key"),
        pytest.param(
            lambda job: pod_spec(job).update(terminationGracePeriodSeconds="60s"), id="grace-60s"
        ),
        pytest.param(lambda job: pod_spec(job).pop("containers"), id="no-containers"),
    ],
)
def test_a_broken_manifest_is_rejected_by_the_same_validation(break_it: Any) -> None:
    (job,) = load(KUBERNETES / "workers.yaml")
    assert validate(job) == "1.30"
    break_it(job)
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(job)


def test_each_worker_pod_asks_for_exactly_one_gpu_and_the_job_runs_eight(
    docs: list[Doc],
) -> None:
    job = find(docs, "Job", "sweeper-workers-quickstart")
    assert job["spec"]["parallelism"] == job["spec"]["completions"] == 8
    assert 0 < job["spec"]["backoffLimit"]
    spec = pod_spec(job)
    assert spec["restartPolicy"] == "OnFailure"
    assert spec["terminationGracePeriodSeconds"] == 60
    (worker,) = spec["containers"]
    assert worker["resources"]["limits"] == {"nvidia.com/gpu": 1}
    assert worker["args"][:3] == ["worker", "--study", "quickstart"]
    assert option(worker["args"], "--device") == "cuda"  # the one GPU the pod was given
    # no other object asks for a GPU
    gpus = [c for _, c in containers(docs) if "nvidia.com/gpu" in str(c.get("resources"))]
    assert gpus == [worker]


def test_every_sweeper_container_runs_a_real_sweeper_command(
    docs: list[Doc], monkeypatch: pytest.MonkeyPatch
) -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["sweeper"]' in dockerfile and "WORKDIR /app" in dockerfile
    assert "COPY examples ./examples" in dockerfile
    monkeypatch.chdir(REPO)  # the image's /app holds the repository's examples/
    root = typer.main.get_command(app)
    seen = set()
    for doc, container in containers(docs):
        if container["image"].startswith("postgres:"):
            continue
        assert container["image"] == IMAGE
        assert "command" not in container  # args go to the image's ENTRYPOINT, sweeper
        command, *args = container["args"]
        sub = root.commands.get(command)  # type: ignore[attr-defined]
        assert sub is not None, f"{doc['metadata']['name']}: 'sweeper {command}' is not a command"
        context = sub.make_context(f"sweeper {command}", list(args))  # parses, never runs
        assert context.params, doc["metadata"]["name"]
        assert "--storage" not in args  # the URL comes from the Secret, never the command line
        seen.add(command)
    assert seen == {"proxy", "dashboard", "create", "worker"}
    create = find(docs, "Job", "sweeper-create-quickstart")
    (container,) = pod_spec(create)["containers"]
    assert container["args"] == ["create", "examples/quickstart.yaml"]
    assert (REPO / "examples" / "quickstart.yaml").is_file()
    assert "study: quickstart" in (REPO / "examples" / "quickstart.yaml").read_text()
    assert pod_spec(create)["restartPolicy"] == "OnFailure"
    assert 0 < create["spec"]["backoffLimit"] <= 5


def test_only_the_proxy_sees_the_database_url_the_others_go_through_the_proxy(
    docs: list[Doc],
) -> None:
    secrets = secret_data(docs)
    for doc, container in containers(docs):
        name = doc["metadata"]["name"]
        if name == "postgres":
            assert "SWEEPER_STORAGE" not in str(container.get("env"))
            continue
        key = "url" if name == "sweeper-proxy" else "proxy-url"
        assert env_secret(container, "SWEEPER_STORAGE") == ("sweeper-storage", key), name
    assert secrets["sweeper-storage"]["proxy-url"] == "grpc://sweeper-proxy:13000"


def test_the_proxy_service_port_is_the_proxy_containers_port(docs: list[Doc]) -> None:
    deployment = find(docs, "Deployment", "sweeper-proxy")
    assert deployment["spec"]["replicas"] == 1
    (proxy,) = pod_spec(deployment)["containers"]
    port = int(option(proxy["args"], "--port"))
    assert option(proxy["args"], "--host") == "0.0.0.0"  # reachable from other pods
    (container_port,) = proxy["ports"]
    assert container_port["containerPort"] == port
    for probe in ("readinessProbe", "livenessProbe"):
        assert proxy[probe]["tcpSocket"]["port"] in (port, container_port["name"])
    service = find(docs, "Service", "sweeper-proxy")
    (service_port,) = service["spec"]["ports"]
    assert service_port["port"] == port
    assert service_port["targetPort"] in (port, container_port["name"])
    # the URL the workers are given names this Service and this port
    url = secret_data(docs)["sweeper-storage"]["proxy-url"]
    assert url == f"grpc://{service['metadata']['name']}:{service_port['port']}"


def test_every_service_selects_the_pods_of_one_workload(docs: list[Doc]) -> None:
    workloads = [d for d in docs if d["kind"] in ("Deployment", "StatefulSet")]
    for service in (d for d in docs if d["kind"] == "Service"):
        selector = service["spec"]["selector"]
        matching = [
            w
            for w in workloads
            if selector.items() <= w["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(matching) == 1, service["metadata"]["name"]
        (workload,) = matching
        assert selector.items() <= workload["spec"]["selector"]["matchLabels"].items()


def test_secret_keys_the_containers_read_exist_in_storage_secret_yaml(docs: list[Doc]) -> None:
    secrets = secret_data(load(KUBERNETES / "storage-secret.yaml"))
    references = {
        (var["valueFrom"]["secretKeyRef"]["name"], var["valueFrom"]["secretKeyRef"]["key"])
        for _, container in containers(docs)
        for var in container.get("env", [])
        if "secretKeyRef" in var.get("valueFrom", {})
    }
    assert references == {
        ("sweeper-storage", "url"),
        ("sweeper-storage", "proxy-url"),
        ("sweeper-postgres", "password"),
    }
    for secret, key in references:
        assert key in secrets.get(secret, {}), f"{secret}/{key}"


def test_no_manifest_holds_a_password_other_than_the_placeholder(docs: list[Doc]) -> None:
    for path in MANIFESTS:
        text = path.read_text()
        for user, password in re.findall(r"\w+://([^:/@\s]+):([^@\s]*)@", text):
            # the placeholder, a redacted one as sweeper prints it, or a shell variable
            assert password in (PLACEHOLDER, "***") or re.fullmatch(r"\$\w+", password), (
                f"{path.name}: a password for {user}"
            )
    assert secret_data(docs)["sweeper-postgres"]["password"] == PLACEHOLDER
    for _, container in containers(docs):
        for var in container.get("env", []):
            if re.search("PASSWORD|STORAGE", var["name"]):
                assert "value" not in var, var["name"]  # from a Secret, never written inline


def test_the_postgres_statefulset_keeps_its_data_and_matches_the_storage_url(
    docs: list[Doc],
) -> None:
    statefulset = find(docs, "StatefulSet", "postgres")
    service = find(docs, "Service", "postgres")
    assert service["spec"]["clusterIP"] == "None"  # headless, as a StatefulSet wants
    assert statefulset["spec"]["serviceName"] == "postgres"
    (postgres,) = pod_spec(statefulset)["containers"]
    assert postgres["image"] == "postgres:16"
    assert "pg_isready" in postgres["readinessProbe"]["exec"]["command"]
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    mounts = {m["name"]: m["mountPath"] for m in postgres["volumeMounts"]}
    assert mounts[claim["metadata"]["name"]] == "/var/lib/postgresql/data"
    assert env_secret(postgres, "POSTGRES_PASSWORD") == ("sweeper-postgres", "password")
    env = {v["name"]: v.get("value") for v in postgres["env"]}
    (port,) = service["spec"]["ports"]
    url = secret_data(docs)["sweeper-storage"]["url"]
    expected = f"postgresql://{env['POSTGRES_USER']}:{PLACEHOLDER}@postgres:{port['port']}/"
    assert url == expected + env["POSTGRES_DB"]


def test_the_dashboard_is_reachable_inside_the_cluster_only(docs: list[Doc]) -> None:
    assert not [d for d in docs if d["kind"] == "Ingress"]
    for service in (d for d in docs if d["kind"] == "Service"):
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP"
        assert all("nodePort" not in port for port in service["spec"]["ports"])
    service = find(docs, "Service", "sweeper-dashboard")
    (dashboard,) = pod_spec(find(docs, "Deployment", "sweeper-dashboard"))["containers"]
    port = int(option(dashboard["args"], "--port"))
    assert option(dashboard["args"], "--host") == "0.0.0.0"  # inside the pod, for the Service
    assert [p["port"] for p in service["spec"]["ports"]] == [port]
    assert dashboard["readinessProbe"]["httpGet"]["path"] == "/"
    header = (KUBERNETES / "dashboard.yaml").read_text()
    assert f"kubectl port-forward svc/sweeper-dashboard {port}:{port}" in header
