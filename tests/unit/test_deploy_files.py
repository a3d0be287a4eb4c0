"""The deployment files, checked as files: docker-compose.yml, the Dockerfile, Prometheus.

No Docker engine runs here (GitHub's CI brings the stack up for real); these tests hold the
files to what the code reads and to each other, and promtool validates prometheus.yml.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tickcast.config import Settings

ROOT = Path(__file__).parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
PYTHON_SERVICES = ("producer", "worker", "api")
ONE_SHOT = {"minio-init", "setup"}


def env_of(service: str) -> dict[str, Any]:
    return dict(SERVICES[service].get("environment", {}))


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_has_an_image_and_a_healthcheck(name: str) -> None:
    service = SERVICES[name]
    assert service.get("image") or service.get("build")
    if name not in ONE_SHOT:
        assert service["healthcheck"]["test"], f"{name} has no healthcheck"


def test_depends_on_waits_on_health_of_services_that_exist() -> None:
    for name, service in SERVICES.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"
            wanted = (
                "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            )
            assert rule["condition"] == wanted, f"{name} -> {dependency}"


def test_the_stack_is_the_one_the_design_names() -> None:
    assert set(SERVICES) == {
        "kafka",
        "clickhouse",
        "redis",
        "mlflow",
        "postgres",
        "minio",
        "minio-init",
        "setup",
        "prometheus",
        "grafana",
        "nginx",
        "producer",
        "worker",
        "api",
    }
    assert SERVICES["kafka"]["image"].startswith("apache/kafka:")
    assert SERVICES["clickhouse"]["image"].startswith("clickhouse/clickhouse-server:")
    assert (
        "grafana-clickhouse-datasource" in SERVICES["grafana"]["environment"]["GF_INSTALL_PLUGINS"]
    )


def test_one_entry_point_and_workers_that_scale() -> None:
    published = {name for name, s in SERVICES.items() if s.get("ports")}
    assert published == {"nginx"}
    assert "container_name" not in SERVICES["worker"]
    nginx = (ROOT / "infra/nginx/nginx.conf").read_text()
    for upstream in ("api:8000", "grafana:3000", "mlflow:5000"):
        assert f"server {upstream};" in nginx
    assert "location /grafana/" in nginx
    assert "location /mlflow/" in nginx


def test_python_services_get_every_address_the_code_reads() -> None:
    fields = {f"TICKCAST_{name.upper()}" for name in Settings.model_fields}
    for name in PYTHON_SERVICES:
        env = env_of(name)
        assert {k for k in env if k.startswith("TICKCAST_")} <= fields, name
        for needed in (
            "TICKCAST_KAFKA_BOOTSTRAP",
            "TICKCAST_CLICKHOUSE_URL",
            "TICKCAST_REDIS_URL",
            "TICKCAST_MLFLOW_URI",
            "TICKCAST_API_HOST",
        ):
            assert needed in env, f"{name} lacks {needed}"
        assert not str(env["TICKCAST_CLICKHOUSE_URL"]).startswith("chdb:")
    assert env_of("worker")["TICKCAST_WORKER_METRICS_PORT"] == 9108
    assert env_of("producer")["TICKCAST_PRODUCER_METRICS_PORT"] == 9109


def test_secrets_come_from_the_environment_and_are_listed_in_env_example() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    used = set(re.findall(r"\$\{(\w+)", text))
    listed = {
        line.split("=")[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert used <= listed, used - listed
    for line in text.splitlines():
        if re.search(r"PASSWORD\s*:", line):
            assert "${" in line, f"a literal secret: {line.strip()}"


def test_mounted_files_exist() -> None:
    for service in SERVICES.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), source


def test_dockerfile_is_multi_stage_and_runs_as_a_user() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user
    assert user[-1] not in ("root", "0")


def test_the_image_builds_the_rust_core_from_what_it_copies() -> None:
    """The wheel's build reads pyproject.toml, its backend (build_backend/), rust/ (maturin's
    manifest) and tickcast/: a source the build stage does not copy fails only on a user's
    machine."""
    import tomllib

    text = (ROOT / "Dockerfile").read_text()
    build = text.split("\nFROM ")[1]  # the first stage
    copied = {
        Path(src).parts[0]
        for line in re.findall(r"^COPY (?!--from)(.+)$", build, re.M)
        for src in line.split()[:-1]
    }
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    maturin = project["tool"]["maturin"]
    needed = {
        "pyproject.toml",
        *project["build-system"]["backend-path"],  # the build backend itself
        Path(maturin["manifest-path"]).parts[0],
        *maturin["python-packages"],
    }
    assert needed <= copied
    assert "/usr/local/cargo/bin" in build  # cargo on the PATH of the build
    assert "gcc" in build  # Rust links with the system's C compiler


def test_prometheus_scrapes_what_compose_serves() -> None:
    config = yaml.safe_load((ROOT / "infra/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["tickcast-worker"]["dns_sd_configs"][0] == {
        "names": ["worker"],
        "type": "A",
        "port": 9108,
    }
    assert jobs["tickcast-producer"]["static_configs"][0]["targets"] == ["producer:9109"]
    assert jobs["tickcast-api"]["static_configs"][0]["targets"] == ["api:9110"]
    assert env_of("api")["TICKCAST_API_METRICS_PORT"] == 9110


def test_promtool_accepts_the_prometheus_config_and_rejects_a_broken_one(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: install Debian's prometheus package (make test does)")
    config = str(ROOT / "infra/prometheus/prometheus.yml")
    good = subprocess.run(
        [promtool, "check", "config", config], capture_output=True, text=True, check=False
    )
    assert good.returncode == 0, good.stdout + good.stderr
    broken = tmp_path / "prometheus.yml"
    broken.write_text("scrape_configs:\n  - job_name: x\n    scrape_interval: soon\n")
    bad = subprocess.run(
        [promtool, "check", "config", str(broken)], capture_output=True, text=True, check=False
    )
    assert bad.returncode != 0


def test_docker_compose_accepts_the_stack(tmp_path: Path) -> None:
    """Compose's own parser, as `docker compose up` reads the file (no engine needed)."""
    compose = shutil.which("docker-compose")
    if compose is None:
        pytest.fail("docker-compose is missing: install Debian's docker-compose (make test does)")
    env = tmp_path / ".env"
    lines = (ROOT / ".env.example").read_text().splitlines()
    env.write_text("\n".join(filled(lines)))
    checked = subprocess.run(
        [
            compose,
            "--project-directory",
            str(ROOT),
            "-f",
            str(ROOT / "docker-compose.yml"),
            "--env-file",
            str(env),
            "config",
            "-q",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


def filled(lines: list[str]) -> list[str]:
    """.env.example's lines with every empty password and key given a value, as a user would."""
    return [
        f"{line}{'s' * 40}" if re.fullmatch(r"\w+(PASSWORD|KEY)=", line) else line for line in lines
    ]


def test_kafka_keeps_topics_and_changelogs_on_its_volume() -> None:
    kafka = SERVICES["kafka"]
    mounts = dict(volume.split(":")[:2] for volume in kafka["volumes"])
    assert kafka["environment"]["KAFKA_RUN_DIR"] == mounts["kafka-data"]


def test_the_stacks_kafka_is_the_secure_broker_the_tests_run() -> None:
    """infra/kafka/broker's `run`: SASL/SCRAM and ACLs, the configuration the security tests
    start locally; every client of the stack logs in as its role."""
    kafka = SERVICES["kafka"]
    mounts = dict(volume.split(":")[:2] for volume in kafka["volumes"])
    assert mounts["./infra/kafka/broker"] == kafka["entrypoint"][0]
    assert kafka["entrypoint"][1] == "run"
    assert "KAFKA_ADMIN_PASSWORD" in kafka["environment"]
    roles = {name: env_of(name).get("TICKCAST_KAFKA_USERNAME") for name in PYTHON_SERVICES}
    assert roles == {"producer": "producer", "worker": "worker", "api": None}
    assert SERVICES["setup"]["entrypoint"][-1] == "tickcast setup kafka && tickcast setup mlflow"


def test_clickhouse_has_a_writer_and_a_reader_within_the_limits_tickcast_reads_under() -> None:
    import xml.etree.ElementTree as ElementTree

    from tickcast.stores.clickhouse import READ_LIMITS

    clickhouse = SERVICES["clickhouse"]
    mounts = dict(volume.split(":")[:2] for volume in clickhouse["volumes"])
    assert mounts["./infra/clickhouse/users.xml"].startswith("/etc/clickhouse-server/users.d/")
    assert clickhouse["environment"]["CLICKHOUSE_SKIP_USER_SETUP"] == 1
    root = ElementTree.parse(ROOT / "infra/clickhouse/users.xml").getroot()
    users = root.find("users")
    assert users is not None
    assert users.find("default").get("remove") == "remove"
    for name, grant in (("writer", "INSERT"), ("reader", "GRANT SELECT ON default.*")):
        user = users.find(name)
        assert user is not None
        variable = user.find("password").get("from_env")
        assert variable in clickhouse["environment"], name
        assert grant in user.find("grants/query").text
    assert "INSERT" not in users.find("reader/grants/query").text
    profile = root.find("profiles/reader_profile")
    assert profile is not None
    assert profile.find("readonly").text == "2"
    for setting, value in READ_LIMITS.items():
        assert profile.find(setting).text == str(value), setting
        constraint = profile.find(f"constraints/{setting}")
        assert constraint is not None, f"a reader could raise {setting}"
    worker, api = env_of("worker"), env_of("api")
    assert worker["TICKCAST_CLICKHOUSE_USERNAME"] == "writer"
    assert api["TICKCAST_CLICKHOUSE_USERNAME"] == "reader"
    datasource = (ROOT / "infra/grafana/provisioning/datasources/tickcast.yml").read_text()
    assert "username: reader" in datasource


def test_mlflow_wants_a_user_and_redis_and_the_api_their_own() -> None:
    command = " ".join(SERVICES["mlflow"]["command"])
    assert "--app-name basic-auth" in command
    assert "default_permission = READ" in command
    assert "--allowed-hosts=*" not in command
    assert {"MLFLOW_AUTH_ADMIN_PASSWORD", "MLFLOW_FLASK_SERVER_SECRET_KEY"} <= set(
        SERVICES["mlflow"]["environment"]
    )
    assert env_of("worker")["TICKCAST_MLFLOW_USERNAME"] == "worker"
    assert env_of("api")["TICKCAST_MLFLOW_USERNAME"] == "reader"
    assert env_of("worker")["TICKCAST_REDIS_USERNAME"] == "writer"
    assert env_of("api")["TICKCAST_REDIS_USERNAME"] == "reader"
    assert "user default off" in " ".join(SERVICES["redis"]["command"])


def test_every_service_is_hardened_and_the_worker_may_drain() -> None:
    """No privilege escalation, a memory limit, the stack's state key required, and a worker's
    grace period longer than its drain (the last batch, then the registry's writes)."""
    from tickcast.stream_processors.faust_app import FAUST_STOP_S
    from tickcast.stream_processors.worker import OUTPUTS_STOP_S, SHUTDOWN_WAIT_S

    for name, service in SERVICES.items():
        assert "no-new-privileges:true" in service.get("security_opt", []), name
        if name not in ONE_SHOT:
            assert service.get("mem_limit"), name
    grace = SERVICES["worker"]["stop_grace_period"]
    registry_close_s = 35  # BackgroundRegistry.close's 30 s and its 5 s to end the child
    drain_s = SHUTDOWN_WAIT_S + OUTPUTS_STOP_S + registry_close_s + FAUST_STOP_S
    assert int(grace.removesuffix("s")) >= drain_s
    for name in PYTHON_SERVICES:
        assert env_of(name)["TICKCAST_ENVIRONMENT"] == "production"
        assert env_of(name)["TICKCAST_STATE_KEY"].startswith("${TICKCAST_STATE_KEY:?")
    assert "nginx-unprivileged" in (ROOT / "frontend/Dockerfile").read_text()
    for ignored in (".gitignore", ".dockerignore"):
        assert ".env" in (ROOT / ignored).read_text().split(), ignored


def test_the_stack_producer_makes_live_ticks_as_it_goes() -> None:
    """Not a fixed list of ticks built in memory and republished with the same event times on
    every restart: live ticks stamped with the wall clock, without end."""
    command = SERVICES["producer"]["command"]
    assert command[0] == "produce"
    assert "--live" in command
    assert "--synthetic" not in command  # no count: it runs until stopped


def test_pre_commit_runs_the_linters_make_lint_runs() -> None:
    """Not a pinned hook repository with a ruff of its own, which disagrees with `make lint`."""
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert all(repo["repo"] == "local" for repo in config["repos"])
    makefile = (ROOT / "Makefile").read_text()
    for hook, command in (("ruff", "ruff check"), ("ruff-format", "ruff format"), ("mypy", "mypy")):
        assert hooks[hook]["entry"].startswith(f".venv/bin/{command}")
        assert f"$(BIN)/{command}" in makefile


def test_the_design_the_code_points_to_is_in_the_repo() -> None:
    pointed = set()
    for path in (ROOT / "tickcast").rglob("*.py"):
        pointed |= set(re.findall(r"[\w/]+\.md", path.read_text()))
    assert pointed, "the code points to no design page"
    for page in pointed:
        assert (ROOT / page).is_file(), f"the code points to {page}, which is not in the repo"


def test_the_clickhouse_schema_is_written_once() -> None:
    """The package's schema is the one the stores, the image and the compose stack use."""
    tracked = subprocess.run(
        ["git", "ls-files", "*.sql"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert tracked == ["tickcast/stores/schema.sql"]


def test_nginx_serves_the_built_application_and_proxies_every_api_route() -> None:
    from tickcast.api import Services, create_app
    from tickcast.stores import InMemoryLatestStore

    nginx = SERVICES["nginx"]
    assert nginx["build"] == {"context": ".", "dockerfile": "frontend/Dockerfile"}
    dockerfile = (ROOT / "frontend/Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", dockerfile, re.M)) == 2
    for source in re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile, re.M):
        for path in source.split():
            assert (ROOT / path).exists(), path
    conf = (ROOT / "infra/nginx/nginx.conf").read_text()
    proxied, internal = (
        set(found.replace("\\.", ".").split("|"))
        for found in re.findall(r"location ~ \^/\(([^)]+)\)", conf)
    )
    proxied |= {"stream"}
    app = create_app(Services(InMemoryLatestStore(), None))
    served = {getattr(route, "path", "/").split("/")[1] for route in app.routes}
    served -= {"", "assets"}  # nginx serves the application and its assets itself
    # every route is proxied or kept inside the stack (404), none falls to index.html
    assert served <= proxied | internal, served - proxied - internal
    assert internal == {"metrics", "ready", "docs", "redoc", "openapi.json"}
