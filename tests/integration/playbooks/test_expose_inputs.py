"""expose.yml takes its settings from the command line as a user types them, checks them with Ansible's own role
argument validation, and refuses scope-widening input before it changes anything (tier 1 apiserver)."""

from __future__ import annotations

import contextlib
import json
import random
import re
import subprocess
from collections.abc import Iterator

import docker
import pytest

from harness.kind import busybox_rootfs
from harness.tier1 import Tier1
from tests.ansible_runner import playbook

pytestmark = pytest.mark.tier1


def expose(tier1: Tier1, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`ansible-playbook hostreach.kind.expose` in direct mode with only the services step, against tier 1.

    `args` come last on the command line, as a user types them, so an `-e` in them overrides the settings given here.
    """
    settings = {
        "hostreach_kind_mode": "direct",
        "hostreach_kind_steps": ["services"],
        "hostreach_kind_kubeconfig": tier1.kubeconfig,
        "hostreach_kind_context": tier1.context,
    }
    return playbook("hostreach.kind.expose", settings, args=args, env=env)


def types_of(tier1: Tier1, namespace: str) -> dict:
    return {s.metadata.name: s.spec.type for s in tier1.core_v1().list_namespaced_service(namespace).items}


def add_service(tier1: Tier1, namespace: str, name: str = "web") -> None:
    body = {"metadata": {"name": name}, "spec": {"selector": {"app": "x"}, "ports": [{"name": "http", "port": 80}]}}
    tier1.core_v1().create_namespaced_service(namespace, body)


def task_output(stdout: str, task: str) -> str:
    """What the default callback printed for the task whose name ends with `task` (up to the next task header)."""
    found = re.search(rf"^TASK \[[^\]]*{re.escape(task)}\] \**\n(.*?)(?=^TASK |^PLAY RECAP)", stdout, re.M | re.S)
    assert found, f"no task {task!r} in:\n{stdout}"
    return found.group(1)


@pytest.mark.parametrize(
    ("value", "says"), [("", "namespaces[0] is empty"), ("adv,", "namespaces[1] is empty"), ("..", "namespaces[0] '..' is not a DNS-1123 label")]
)
def test_an_empty_or_path_like_namespace_from_the_command_line_changes_no_service(tier1: Tier1, tier1_namespace: str, value: str, says: str) -> None:
    add_service(tier1, tier1_namespace, "bystander")
    done = expose(tier1, "-e", f"hostreach_kind_namespaces={value}")
    assert done.returncode != 0, done.stdout
    assert says in done.stdout
    assert types_of(tier1, tier1_namespace) == {"bystander": "ClusterIP"}


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ({"hostreach_kind_cluster": "kind\nhost 0.0.0.0"}, "hostreach_kind_cluster 'kind\\\\nhost 0.0.0.0' is not a kind cluster name"),
        ({"hostreach_kind_cluster": "Kind"}, "hostreach_kind_cluster 'Kind' is not a kind cluster name: its character 'K' at position 0"),
        ({"hostreach_kind_clusters": ["kind", "dev\n"]}, "hostreach_kind_clusters[1] 'dev\\\\n' is not a kind cluster name"),
    ],
)
def test_a_cluster_name_kind_refuses_fails_naming_the_value_before_any_change(tier1: Tier1, tier1_namespace: str, setting: dict, says: str) -> None:
    """The name would reach the kube context, docker-connector.conf's marker comment and the resolver file: checked as
    kind checks it (^[a-z0-9.-]+$, at most 50 characters) before any use, even with the context given."""
    add_service(tier1, tier1_namespace)
    done = expose(tier1, "-e", json.dumps({**setting, "hostreach_kind_namespaces": [tier1_namespace]}))
    assert done.returncode != 0, done.stdout
    assert says in done.stdout, done.stdout
    assert "Fail on a cluster name kind would refuse" in done.stdout
    assert types_of(tier1, tier1_namespace) == {"web": "ClusterIP"}


@pytest.fixture
def hostile_label_container() -> Iterator[str]:
    """A running container (no network) whose io.x-k8s.kind.cluster label is no kind cluster name; its name. Any local
    container can carry that label: `hostreach_kind_clusters: all` reads it from the engine."""
    client = docker.from_env()
    if client.containers.list(filters={"label": "io.x-k8s.kind.cluster"}):
        pytest.skip("a kind node container runs on this engine: hostreach_kind_clusters=all would act on that cluster too")
    image = f"hostreach/test-label:{random.randrange(1 << 32):08x}"
    entrypoint = 'ENTRYPOINT ["/bin/busybox", "sleep", "600"]'
    subprocess.run(["docker", "import", "--change", entrypoint, "-", image], input=busybox_rootfs({}), check=True, stdout=subprocess.DEVNULL)
    name = image.replace("/", "-").replace(":", "-")
    try:
        client.containers.run(image, name=name, detach=True, network_mode="none", labels={"io.x-k8s.kind.cluster": "kind\nhost 0.0.0.0"})
        yield name
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            client.containers.get(name).remove(force=True)
        client.images.remove(image)


def test_with_all_a_container_whose_cluster_label_is_no_kind_name_is_skipped_naming_it(
    tier1: Tier1, tier1_namespace: str, hostile_label_container: str
) -> None:
    add_service(tier1, tier1_namespace)
    done = expose(tier1, "-e", "hostreach_kind_clusters=all", "-e", f"hostreach_kind_namespaces={tier1_namespace}")
    assert done.returncode != 0, done.stdout
    skipped = task_output(done.stdout, "Skip the node containers whose cluster label is not a kind cluster name")
    assert f"container {hostile_label_container}: its label io.x-k8s.kind.cluster 'kind\\\\nhost 0.0.0.0' is not a kind cluster name" in skipped
    assert "no container carries the label io.x-k8s.kind.cluster with a name kind accepts" in done.stdout
    assert types_of(tier1, tier1_namespace) == {"web": "ClusterIP"}


@pytest.mark.parametrize("steps", ["services", "container,services"])
def test_steps_given_as_a_comma_separated_string_run_as_that_list(tier1: Tier1, tier1_namespace: str, steps: str) -> None:
    add_service(tier1, tier1_namespace)
    done = expose(tier1, "-e", f"hostreach_kind_steps={steps}", "-e", f"hostreach_kind_namespaces={tier1_namespace}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"steps {steps.replace(',', ', ')}" in done.stdout  # the mode line lists the steps as a list
    assert types_of(tier1, tier1_namespace) == {"web": "NodePort"}


def test_direct_mode_with_only_the_services_step_asks_no_docker_engine(tier1: Tier1, tier1_namespace: str) -> None:
    add_service(tier1, tier1_namespace)
    done = expose(tier1, "-e", f"hostreach_kind_namespaces={tier1_namespace}", env={"DOCKER_HOST": "unix:///nonexistent"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Docker not asked, no step needs it" in done.stdout
    assert types_of(tier1, tier1_namespace) == {"web": "NodePort"}


def test_an_unreachable_engine_a_step_needs_fails_naming_the_endpoint_before_any_change(tier1: Tier1, tier1_namespace: str) -> None:
    add_service(tier1, tier1_namespace)
    done = expose(
        tier1,
        "-e",
        "hostreach_kind_mode=connector",
        "-e",
        "hostreach_kind_steps=container,services",
        "-e",
        f"hostreach_kind_namespaces={tier1_namespace}",
        env={"DOCKER_HOST": "unix:///nonexistent"},
    )
    assert done.returncode != 0, done.stdout
    assert "No Docker engine answers at unix:///nonexistent (nothing listens at that path), and the container step needs it." in done.stdout
    assert "Error while fetching server API version" not in done.stdout + done.stderr
    assert types_of(tier1, tier1_namespace) == {"web": "ClusterIP"}


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ("hostreach_kind_mode=bogus", "value of hostreach_kind_mode must be one of: auto, connector, direct, got: bogus"),
        (
            "hostreach_kind_steps=services,bogus",
            "value of hostreach_kind_steps must be one or more of: connector, container, services. Got no match for: bogus",
        ),
    ],
)
def test_a_setting_outside_its_choices_is_refused_by_the_role_argument_validation(tier1: Tier1, tier1_namespace: str, setting: str, says: str) -> None:
    add_service(tier1, tier1_namespace)
    done = expose(tier1, "-e", setting, "-e", f"hostreach_kind_namespaces={tier1_namespace}")
    assert done.returncode != 0, done.stdout
    assert "Validating arguments against arg spec 'main'" in done.stdout
    assert says in done.stdout
    assert types_of(tier1, tier1_namespace) == {"web": "ClusterIP"}


def test_a_check_run_waits_for_no_nodeport_to_answer(tier1: Tier1, tier1_namespace: str, tier1_node: str) -> None:
    """A fixed nodePort has a URL in check mode (tier 1 runs no kube-proxy, so it never answers): nothing waits for it."""
    add_service(tier1, tier1_namespace)
    node_port = random.randint(*tier1.node_port_range)
    services = [{"name": "web", "namespace": tier1_namespace, "node_ports": {"http": node_port}}]
    done = expose(tier1, "--check", "-v", "-e", json.dumps({"hostreach_kind_services": services}))
    assert done.returncode == 0, done.stdout + done.stderr
    probed = task_output(done.stdout, "Switch the Services to NodePort and probe their URLs (state=present)")
    assert re.findall(r'"waited": ([0-9.]+)', probed) == ["0.0"]  # its one URL, probed once, never waited for
    assert "Wait for the new nodePorts" not in done.stdout  # the role calls the module once; no re-probe loop
    assert f":{node_port}" in task_output(done.stdout, "Summary")
    assert "Unknown error" not in done.stdout
    assert types_of(tier1, tier1_namespace) == {"web": "ClusterIP"}
