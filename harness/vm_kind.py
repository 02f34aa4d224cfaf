"""A real kind cluster inside the Docker VM of harness/vm.py, for @pytest.mark.vm tests of the whole chain.

kind runs against the VM's engine (DOCKER_HOST = the VM's socket) from inside the VM's network namespace, with
harness/kind.sh as for the host's clusters (`nsenter --net`, as vm-netns.sh starts dockerd; `ip netns exec` would
remount /sys and hide the cgroups kind.sh looks at). So the kind network (`kind`, 172.18.0.0/16 plus kind's ULA) is a
bridge network of the VM, its nodes are the VM's containers, and kind publishes the apiserver on the VM's 127.0.0.1.
- The node image is the host's (`docker save` from the host's engine, only read, into `docker load` of the VM's: its
  build-key label comes along, so kind-node-image.sh finds it up to date); an image the host lacks is built in the VM.
- The host kernel settings kubelet changes (kernel.panic, vm.overcommit_memory, ...) are kind.sh's business as for any
  cluster: saved at the first `up`, put back after the last `down` on any engine (kind.sh records each cluster's engine).
- Docker Desktop forwards a port the VM publishes on its 127.0.0.1 to the Mac's 127.0.0.1: that is how the kubeconfig
  kind writes (`https://127.0.0.1:<port>`) works on a Mac. Here `busybox nc -ll` in the Mac namespace stands for that
  forwarding (each connection piped into the VM's 127.0.0.1:<port>), so the Mac uses kind's kubeconfig as it is, and the
  Kubernetes API does not depend on the tunnel, as on a Mac: a broken tunnel or firewall shows in the kind node and URL
  links, not as an unreachable API.
`vm_kind_cluster(vm)` is the context manager (cluster hr-<VM name>): the cluster is deleted afterwards (kind.sh down), whatever happened;
the VM's own teardown (vm-netns.sh down) kills the forwarder with everything else in the Mac namespace.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from .kind import DEMO_HTTPD_PORT, KIND_SCRIPT, busybox_rootfs
from .versions import HARNESS_DIR, binary_dirs, cache_dir
from .vm import NAME_PREFIX, DockerVM, _run_dir

KIND_NODE_IMAGE_SCRIPT = HARNESS_DIR / "kind-node-image.sh"
DEMO_NAME = "demo-httpd"  # the demo Deployment and its ClusterIP Service, namespace default
FORWARD_START_TIMEOUT = 10.0
CLUSTER_PREFIX = "hr-"


@dataclass(frozen=True)
class VMKindCluster:
    """A kind cluster on the VM's engine: its kubeconfig (kind's own, 127.0.0.1:<api_port>), node IP, network subnet."""

    vm: DockerVM
    name: str
    kubeconfig: str
    api_port: int
    node_ip: str  # the control-plane node's address on the kind network of the VM
    subnet: str  # the IPv4 subnet of that network: what docker-connector routes for it

    @property
    def context(self) -> str:
        return f"kind-{self.name}"

    @property
    def control_plane(self) -> str:
        return f"{self.name}-control-plane"

    def kubectl(self, *args: str, input: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        """kubectl inside the VM (where kind's kubeconfig points to the apiserver's published port)."""
        kubectl = str(binary_dirs()["k8s"] / "kubectl")
        return self.vm.in_vm(kubectl, "--kubeconfig", self.kubeconfig, "--context", self.context, *args, input=input, check=check)

    def service(self, name: str = DEMO_NAME, namespace: str = "default") -> dict:
        return yaml.safe_load(self.kubectl("get", "service", name, "--namespace", namespace, "-o", "yaml").stdout)

    def load_image(self, image: str) -> None:
        """`kind load docker-image` of an image of the VM's engine into the node."""
        kind_sh_in_vm(self.vm, "load", self.name, image)

    def deploy_demo_httpd(self, image: str) -> None:
        """The demo httpd (a pod of Deployment demo-httpd, the image loaded into the node) behind the ClusterIP Service
        demo-httpd, port `http` 80 -> 8080; returns once the pod is Ready."""
        manifest = {
            "apiVersion": "v1",
            "kind": "List",
            "items": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": DEMO_NAME, "namespace": "default"},
                    "spec": {
                        "replicas": 1,
                        "selector": {"matchLabels": {"app": DEMO_NAME}},
                        "template": {
                            "metadata": {"labels": {"app": DEMO_NAME}},
                            "spec": {
                                "containers": [
                                    {
                                        "name": "httpd",
                                        "image": image,
                                        "imagePullPolicy": "Never",
                                        "ports": [{"containerPort": DEMO_HTTPD_PORT}],
                                        "readinessProbe": {"httpGet": {"path": "/", "port": DEMO_HTTPD_PORT}, "periodSeconds": 1},
                                    }
                                ]
                            },
                        },
                    },
                },
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": DEMO_NAME, "namespace": "default"},
                    "spec": {"selector": {"app": DEMO_NAME}, "ports": [{"name": "http", "port": 80, "targetPort": DEMO_HTTPD_PORT}]},
                },
            ],
        }
        self.kubectl("apply", "-f", "-", input=yaml.safe_dump(manifest).encode())
        self.kubectl("rollout", "status", f"deployment/{DEMO_NAME}", "--namespace", "default", "--timeout=120s")

    def wait_ready(self, timeout: float = 180.0) -> None:
        """Until the node is Ready again and the demo pod with it (after a restart of the VM's engine)."""
        deadline = time.monotonic() + timeout
        while True:
            waited = self.kubectl("wait", "node", "--all", "--for=condition=Ready", "--timeout=5s", check=False)
            if waited.returncode == 0:
                waited = self.kubectl("wait", "pod", "-l", f"app={DEMO_NAME}", "--for=condition=Ready", "--timeout=5s", check=False)
                if waited.returncode == 0:
                    return
            assert time.monotonic() < deadline, f"kind cluster {self.name} in the VM is not Ready {timeout}s on: {waited.stderr.decode().strip()}"
            time.sleep(1)


def kind_sh_in_vm(vm: DockerVM, *args: str) -> str:
    """harness/kind.sh against the VM's engine, from inside the VM's network namespace; its stdout (progress: stderr)."""
    env = {**os.environ, "DOCKER_HOST": vm.docker_host}
    argv = ["nsenter", f"--net=/run/netns/{vm.vm_netns}", str(KIND_SCRIPT), *args]
    return subprocess.run(argv, env=env, stdout=subprocess.PIPE, text=True, check=True).stdout


def load_node_image(vm: DockerVM) -> None:
    """The host's kind node image into the VM's engine (docker save | docker load; the host's engine is only read)."""
    image = subprocess.run([str(KIND_NODE_IMAGE_SCRIPT), "print-image"], capture_output=True, text=True, check=True).stdout.strip()
    host_env = {key: value for key, value in os.environ.items() if key != "DOCKER_HOST"}
    if subprocess.run(["docker", "image", "inspect", image], env=host_env, capture_output=True, check=False).returncode != 0:
        return  # kind.sh up builds it in the VM (kind-node-image.sh, from the cached parts)
    with subprocess.Popen(["docker", "save", image], env=host_env, stdout=subprocess.PIPE) as save:
        loaded = subprocess.run(["docker", "-H", vm.docker_host, "load", "-q"], stdin=save.stdout, capture_output=True, check=False)
        save.stdout.close()
    if save.returncode != 0 or loaded.returncode != 0:
        raise RuntimeError(f"docker save {image} | docker -H {vm.docker_host} load failed: {loaded.stderr.decode().strip()}")


@contextlib.contextmanager
def forward_api_to_mac(vm: DockerVM, port: int) -> Iterator[None]:
    """Docker Desktop's port forwarding for one port: the Mac's 127.0.0.1:<port> piped into the VM's 127.0.0.1:<port>."""
    script = _run_dir(vm.name) / f"forward-{port}.sh"
    script.write_text(f"#!/bin/sh\nexec nsenter --net=/run/netns/{vm.vm_netns} busybox nc 127.0.0.1 {port}\n")
    script.chmod(0o755)
    argv = ["ip", "netns", "exec", vm.mac_netns, "busybox", "nc", "-ll", "-p", str(port), "-e", str(script)]
    forwarder = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + FORWARD_START_TIMEOUT
        while not vm.in_mac("ss", "-Hltn", f"sport = :{port}").stdout.strip():
            assert forwarder.poll() is None, f"the port forwarder for {port} exited with {forwarder.returncode}"
            assert time.monotonic() < deadline, f"the port forwarder for {port} does not listen in the Mac after {FORWARD_START_TIMEOUT}s"
            time.sleep(0.1)
        yield
    finally:
        forwarder.kill()
        forwarder.wait()


def _api_port(kubeconfig: str, context: str) -> int:
    config = yaml.safe_load(Path(kubeconfig).read_text())
    cluster = next(c["context"]["cluster"] for c in config["contexts"] if c["name"] == context)
    server = next(c["cluster"]["server"] for c in config["clusters"] if c["name"] == cluster)
    parsed = urlsplit(server)
    if parsed.hostname != "127.0.0.1" or parsed.port is None:
        raise RuntimeError(f"expected kind's kubeconfig to point at https://127.0.0.1:<port>, got {server}")
    return parsed.port


def cluster_name(vm: DockerVM) -> str:
    """The kind cluster of a test VM is named after it: hr-<VM name>."""
    return f"{CLUSTER_PREFIX}{vm.name}"


def remove_stale_clusters() -> None:
    """kind.sh's run dirs of VM clusters whose VM is gone (a pytest process killed before its teardown ran: the VM's
    own teardown took the nodes with it, and the next docker_vm_up took the VM down)."""
    for run_dir in (cache_dir() / "run").glob(f"kind-{CLUSTER_PREFIX}{NAME_PREFIX}*"):
        if not _run_dir(run_dir.name.removeprefix(f"kind-{CLUSTER_PREFIX}")).exists():
            shutil.rmtree(run_dir, ignore_errors=True)


def _up(vm: DockerVM, name: str) -> str:
    """kind.sh up in the VM; the kubeconfig's path. A second try after a failed first: on this shared 2-core machine,
    under load, `kubeadm init` once lost its node on Engine 20.10 (`docker exec ... kubeadm init` killed, exit 137,
    after the node's systemd stopped answering: `failed to reload systemd`); it did not happen again in later runs."""
    try:
        return kind_sh_in_vm(vm, "up", name).strip().splitlines()[-1]
    except subprocess.CalledProcessError as error:
        print(f"harness/kind.sh up {name} in VM {vm.name} failed (exit {error.returncode}; its error output is above); once more")
        kind_sh_in_vm(vm, "down", name)
    try:
        return kind_sh_in_vm(vm, "up", name).strip().splitlines()[-1]
    except subprocess.CalledProcessError as error:
        pytest.fail(f"harness/kind.sh up {name} in VM {vm.name} failed twice (exit {error.returncode}); its error output is above")


@contextlib.contextmanager
def vm_kind_cluster(vm: DockerVM) -> Iterator[VMKindCluster]:
    """A Ready kind cluster (one control-plane node, named after the VM) on the VM's engine, its apiserver forwarded to
    the Mac; deleted afterwards, whatever happened."""
    remove_stale_clusters()
    name = cluster_name(vm)
    try:
        load_node_image(vm)
        kubeconfig = _up(vm, name)
        node = f"{name}-control-plane"
        node_ip = vm.container_ip(node, "kind")
        subnets = vm.docker_out("network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", "kind").split()
        subnet = next((s for s in subnets if ":" not in s), "")  # the IPv4 one (kind's network is dual-stack)
        api_port = _api_port(kubeconfig, f"kind-{name}")
        with forward_api_to_mac(vm, api_port):
            yield VMKindCluster(vm=vm, name=name, kubeconfig=kubeconfig, api_port=api_port, node_ip=node_ip, subnet=subnet)
    finally:
        env = {**os.environ, "DOCKER_HOST": vm.docker_host}
        subprocess.run(["nsenter", f"--net=/run/netns/{vm.vm_netns}", str(KIND_SCRIPT), "down", name], env=env, check=False)


STANDIN_RECEIVER = '#!/bin/sh\necho "stand-in mac-receiver (SIMULATION) flags: $*"\nexec /bin/busybox sleep 2147483647\n'


def _connector_standin_rootfs() -> bytes:
    """busybox-static as /bin/busybox and /bin/sh, and /usr/bin/mac-receiver: logs its flags, stays up."""
    return busybox_rootfs({"usr/bin/mac-receiver": (STANDIN_RECEIVER.encode(), 0o755)}, links={"bin/sh": "busybox"})


def connector_standin_image(vm: DockerVM, image: str) -> str:
    """The stand-in for the connector image, imported into the VM's engine (as extensions/molecule/macos_sim builds it:
    CMD mac-receiver, no ENTRYPOINT, like the real image). The real client is not available here, and the veth pair
    replaces its tunnel, so the container only has to run with the right flags."""
    vm.docker("import", "--change", "ENV PATH=/usr/bin:/bin", "--change", 'CMD ["mac-receiver"]', "-", image, input=_connector_standin_rootfs())
    return image


def tools_image(vm: DockerVM, image: str) -> str:
    """A tools image for docker_vm_firewall (sh, iptables-nft, iptables-legacy, nft) in the VM, without a pull: the kind
    node image the VM already has (its Debian rootfs has them all), committed with its entrypoint (kind's) cleared."""
    node_image = subprocess.run([str(KIND_NODE_IMAGE_SCRIPT), "print-image"], capture_output=True, text=True, check=True).stdout.strip()
    container = vm.docker_out("create", "--entrypoint", "", node_image, "true")
    try:
        vm.docker("commit", "--change", "ENTRYPOINT []", "--change", 'CMD ["sh"]', container, image)
    finally:
        vm.docker("rm", container)
    return image
