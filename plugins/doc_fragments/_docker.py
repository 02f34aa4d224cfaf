# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker connection options shared by the modules that talk to a Docker engine. Private to the collection;
the options are declared once, beside this text, in module_utils/_docker.py DOCKER_COMMON_ARGS; a unit test keeps the two equal."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  docker_host:
    description:
      - The Docker engine to talk to, for example V(unix:///var/run/docker.sock) or V(tcp://127.0.0.1:2375).
      - When not set, the first of these that is set or exists, in this order, as the docker CLI chooses
        (1) the E(DOCKER_HOST) environment variable,
        (2) the docker CLI's current context, named by E(DOCKER_CONTEXT) or else by C(currentContext) in
        C(~/.docker/config.json), its endpoint read from C(~/.docker/contexts/meta/<sha256 of the name>/meta.json),
        (3) the sockets C(~/.docker/run/docker.sock) (Docker Desktop), C(~/.colima/default/docker.sock) (Colima),
        C(~/.orbstack/run/docker.sock) (OrbStack), C(~/.rd/docker.sock) (Rancher Desktop), C(/var/run/docker.sock).
      - When no engine answers, the task fails and names the endpoints it tried.
      - C(~) is the home directory of the user the module runs as on the target.
    type: str
requirements:
  - docker (the Python Docker SDK) on the target's Python interpreter
"""
