"""docker-compose.yml is a valid Compose file (checked against the Compose specification's JSON
schema, vendored by check-jsonschema under the Apache-2.0 licence) and every service runs a
real sweeper command; no container engine is needed."""

from __future__ import annotations

import importlib.resources
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import typer
import yaml

from sweeper.cli.app import app

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")
ENV = {"POSTGRES_PASSWORD": "s3cret-from-dotenv"}


def compose_schema() -> dict[str, Any]:
    """The Compose specification's schema as check-jsonschema ships it (no network)."""
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    return json.loads((vendor / "compose-spec.json").read_text())


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} substitution, recursively."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if env.get(name):
            return env[name]
        if op in (":?", "?"):
            raise ValueError(f"{name}: {arg}")
        return arg or ""

    return _VARIABLE.sub(substitute, value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    raw = yaml.safe_load(COMPOSE.read_text())
    return interpolate(raw, ENV)


def test_the_compose_file_is_valid_against_the_compose_specification(
    compose: dict[str, Any],
) -> None:
    schema = compose_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    errors = sorted(validator_class(schema).iter_errors(compose), key=lambda e: e.path)
    assert [f"{list(e.path)}: {e.message}" for e in errors] == []
    assert set(compose["services"]) == {"postgres", "proxy", "dashboard", "worker"}


def test_a_wrong_compose_file_is_caught_by_the_schema(compose: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(compose))
    broken["services"]["worker"]["deploy"]["resources"]["reservations"]["devices"] = "gpu"
    assert list(
        jsonschema.validators.validator_for(compose_schema())(compose_schema()).iter_errors(broken)
    )


def test_postgres_keeps_its_data_in_a_named_volume_and_has_a_healthcheck(
    compose: dict[str, Any],
) -> None:
    postgres = compose["services"]["postgres"]
    named = [v.split(":")[0] for v in postgres["volumes"]]
    assert named == ["pgdata"] and "pgdata" in compose["volumes"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert "ports" not in postgres  # reachable by the other services only
    assert compose["services"]["proxy"]["depends_on"]["postgres"]["condition"] == (
        "service_healthy"
    )
    for service in ("dashboard", "worker"):
        depends = compose["services"][service]["depends_on"]
        assert depends["proxy"]["condition"] == "service_healthy"


def test_only_the_proxy_talks_to_the_database(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["proxy"]["environment"]["SWEEPER_STORAGE"].startswith("postgresql://")
    assert "ports" not in services["proxy"]  # inside the compose network only
    port = services["proxy"]["command"][services["proxy"]["command"].index("--port") + 1]
    for name in ("dashboard", "worker"):
        assert services[name]["environment"]["SWEEPER_STORAGE"] == f"grpc://proxy:{port}"


def test_the_dashboard_is_published_on_loopback_only(compose: dict[str, Any]) -> None:
    ports = compose["services"]["dashboard"]["ports"]
    assert ports and all(str(port).startswith("127.0.0.1:") for port in ports)


def test_workers_reserve_a_gpu_and_can_be_scaled(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    (device,) = worker["deploy"]["resources"]["reservations"]["devices"]
    assert "gpu" in device["capabilities"] and device["count"] == 1
    # --scale worker=N needs no fixed name and no host port
    assert "container_name" not in worker and "ports" not in worker
    assert worker["command"][:3] == ["worker", "--study", "quickstart"]


def test_no_password_is_written_in_the_compose_file() -> None:
    text = COMPOSE.read_text()
    for url in re.findall(r"postgresql://\S+", text):
        assert re.match(r"postgresql://\w+:\$\{POSTGRES_PASSWORD", url), url
    assert "s3cret" not in text


def test_the_image_runs_sweeper_and_every_service_command_is_a_real_sweeper_command(
    compose: dict[str, Any],
) -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["sweeper"]' in dockerfile
    assert "torch==${TORCH_VERSION}" in dockerfile and "ARG TORCH_VERSION=2.13.0" in dockerfile
    root = typer.main.get_command(app)
    for name in ("proxy", "dashboard", "worker"):
        service = compose["services"][name]
        assert service["build"] == "." and (REPO / "Dockerfile").is_file()
        command, *args = service["command"]
        sub = root.commands.get(command)  # type: ignore[attr-defined]
        assert sub is not None, f"{name}: 'sweeper {command}' is not a command"
        context = sub.make_context(f"sweeper {command}", list(args))  # parses, never runs
        assert context.params, name
        assert service["environment"]["SWEEPER_STORAGE"].startswith(
            ("postgresql://sweeper:", "grpc://proxy:")
        )
