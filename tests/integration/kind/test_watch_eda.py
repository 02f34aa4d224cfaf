"""Event-Driven Ansible (issue 20, item 4), for real: ansible-rulebook from PyPI (its rules engine in a Java 17 runtime)
runs the collection's rulebook (extensions/eda/rulebooks/watch.yml, `-r hostreach.kind.watch`) with its event source
(hostreach.kind.watch) on the shared kind cluster. A Service created with a ready pod behind it, carrying the test's own
label, is exposed by the run_playbook the event starts: its URL reaches the summary file and answers HTTP 200 from this
host, with no command typed. A Service without the label, made at the same time, is left as it was (ClusterIP): the
settings' label selector narrows what the rulebook's runs touch. The rulebook ends on SIGINT.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes.client.exceptions import ApiException

from harness.kind import KindCluster
from harness.kind_objects import wait_for
from harness.watch import BIN, COLLECTIONS

from .kind_expose_helpers import Workloads

pytestmark = pytest.mark.kind

RUN_LABEL = "hostreach-eda-run"
SERVICE_TO_URL = 90  # seconds: a ceiling for CI (a run_playbook is a full ansible-runner job); the figure is printed


def reachable_row(path: Path, name: str) -> dict | None:
    rows = json.loads(path.read_text()) if path.exists() else []
    return next((r for r in rows if r["service"] == name and r.get("reachable")), None)


@contextlib.contextmanager
def rulebook(folder: Path, settings: dict) -> Iterator[tuple[subprocess.Popen, Path]]:
    """ansible-rulebook with the collection's rulebook, this host as the inventory's localhost, and the settings."""
    inventory = folder / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))
    (folder / "settings.yml").write_text(json.dumps(settings))
    variables = folder / "vars.yml"
    variables.write_text(json.dumps({"settings_file": str(folder / "settings.yml")}))
    log = folder / "rulebook.log"
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), PYTHONPATH=str(COLLECTIONS), PATH=f"{BIN}:{env['PATH']}", ANSIBLE_LOCALHOST_WARNING="0")
    command = [str(BIN / "ansible-rulebook"), "-r", "hostreach.kind.watch", "-i", str(inventory), "--vars", str(variables), "-v"]
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, cwd=folder, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        yield process, log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        print(log.read_text()[-6000:])


def test_the_rulebook_exposes_a_new_service_and_leaves_the_others(kind_cluster: KindCluster, demo_httpd_image: str, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:6]
    work, web, other = Workloads(kind_cluster, "default"), f"eda-{run}-web", f"eda-{run}-other"
    work.deployment(web, demo_httpd_image, labels={"app": web})
    settings = {
        "hostreach_kind_mode": "direct",
        "hostreach_kind_steps": ["services"],
        "hostreach_kind_clusters": [kind_cluster.name],
        "hostreach_kind_kubeconfig": kind_cluster.kubeconfig,
        "hostreach_kind_namespaces": ["default"],
        "hostreach_kind_label_selector": f"{RUN_LABEL}={run}",
        "hostreach_kind_summary_file": str(tmp_path / "summary.json"),
    }
    try:
        wait_for(lambda: work.apps.read_namespaced_deployment(web, "default").status.ready_replicas == 1, 180, "the web pod ready")
        with rulebook(tmp_path, settings) as (process, log):
            wait_for(lambda: "Starting sources" in log.read_text() or process.poll() is not None, 120, "ansible-rulebook to start its source")
            assert process.poll() is None, log.read_text()
            time.sleep(2)  # the source's first LISTs: what is there already is no event
            created = time.monotonic()
            work.service(web, {"app": web}, labels={RUN_LABEL: run})
            work.service(other, {"app": web})
            row = wait_for(lambda: reachable_row(tmp_path / "summary.json", web), SERVICE_TO_URL, "the URL in the summary, reachable")
            print(f"Service created -> its URL in the summary, reachable, through ansible-rulebook: {time.monotonic() - created:.1f} s")
            # Only to a node of the test's own cluster (a container on kind's bridge), before any packet goes there.
            assert urllib.parse.urlsplit(row["url"]).hostname in kind_cluster.node_ips.values(), row["url"]
            with urllib.request.urlopen(row["url"], timeout=5) as answer:
                assert answer.status == 200
            assert work.read_service(web).spec.type == "NodePort"
            assert work.read_service(other).spec.type == "ClusterIP"
            assert "PLAY [Expose kind Services to the host]" in log.read_text()  # the rulebook's run_playbook ran expose
    finally:
        work.apps.delete_namespaced_deployment(web, "default")
        for name in (web, other):
            with contextlib.suppress(ApiException):
                work.core.delete_namespaced_service(name, "default")
