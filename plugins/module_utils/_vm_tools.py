# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Commands inside the Docker VM: a short-lived container with the VM's own network (host network mode) and the
NET_ADMIN capability runs a shell script and is removed. That is the one way into the network of Docker
Desktop's, Colima's or Rancher Desktop's VM that works the same on all of them: the VM itself has no shell to
log in to, but its engine runs containers.
"""

from __future__ import annotations

import contextlib
import typing as t

from ansible_collections.hostreach.kind.plugins.module_utils._errors import DockerError

LABEL = "hostreach.kind/tool"
PULL_POLICIES = ("missing", "always", "never")
TIMEOUT = 60


def ensure_image(client: t.Any, image: str, pull: str) -> None:
    """Pull the image as `pull` says: `missing` (only when absent), `always`, or `never` (absent is an error)."""
    present = bool(client.images(name=image, quiet=True))
    if pull == "never" and not present:
        raise DockerError(f"the image {image} is not on the Docker engine and pull is never: load it (docker load) or allow a pull")
    if pull == "always" or not present:
        try:
            client.pull(image)
        except Exception as exc:  # the SDK raises many types
            raise DockerError(f"pulling {image} failed: {exc}; pull it yourself, or set the image to one the engine has") from exc


def run_script(client: t.Any, image: str, script: str, purpose: str) -> str:
    """The output of `sh -c script` in a host-network NET_ADMIN container of `image`; DockerError when it fails."""
    host_config = client.create_host_config(network_mode="host", cap_add=["NET_ADMIN"])
    try:
        container = client.create_container(image, command=["sh", "-c", script], host_config=host_config, labels={LABEL: purpose})
    except Exception as exc:
        raise DockerError(f"cannot create the {purpose} container from {image}: {exc}") from exc
    try:
        client.start(container)
        status = client.wait(container, timeout=TIMEOUT).get("StatusCode")
        output = client.logs(container, stdout=True, stderr=True).decode("utf-8", "replace")
    except Exception as exc:
        raise DockerError(f"the {purpose} container of {image} did not finish: {exc}") from exc
    finally:
        with contextlib.suppress(Exception):  # already gone: nothing left to clean up
            client.remove_container(container, force=True)
    if status != 0:
        raise DockerError(f"the {purpose} container of {image} exited with {status}: {output.strip()[-600:]}")
    return output
