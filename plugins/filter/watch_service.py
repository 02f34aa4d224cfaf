# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The watch agent as a service (issue 20, item 1): what roles/watch writes into the systemd user unit or the launchd
LaunchAgent, and what the doctor says of it.

expose.yml with -e hostreach_kind_watch=true installs the agent (extensions/watch/agent.py) so that it starts at login
and is restarted when it fails; it runs expose again with the settings of the run that installed it. The decisions are
here, pure, one call each from roles/watch: the agent's command line and environment (watch_agent_command), the
settings it replays (watch_expose_settings) and the doctor's finding (watch_finding); the unit and the plist are
written by roles/_user_service (filters in user_service.py).
Documentation: one .yml per filter beside this file.
"""

from __future__ import annotations

import time
import typing as t

from ansible.errors import AnsibleFilterError
from ansible_collections.hostreach.kind.plugins.filter.user_service import (
    absolute_paths,
    last_failure,
    module_command,
    seconds_ago,
    service_finding,
    service_status,
)

AGENT_MODULE = "ansible_collections.hostreach.kind.extensions.watch.agent"
LINK = "Watch agent"
# The agent's own settings and the ones it sets on each of its runs: never replayed (hostreach_kind_watch would make the
# agent's every run install the service again).
NOT_REPLAYED = (
    "hostreach_kind_watch",
    "hostreach_kind_watch_run",
    "hostreach_kind_watch_settings_file",
    "hostreach_kind_settings_file",  # its settings are among the values already
    "hostreach_kind_pull",  # the pull timer is installed by expose, not by the agent
    "hostreach_kind_pull_run",  # set by the pull run on its own runs
)
# Settings whose empty value means "from the environment", as the modules read it: the service's environment is not the
# user's shell, so the value this run took is written in.
FROM_ENVIRONMENT = {"hostreach_kind_kubeconfig": ("K8S_AUTH_KUBECONFIG", "KUBECONFIG"), "hostreach_kind_docker_host": ("DOCKER_HOST",)}
PLAIN = (str, int, float, bool, type(None))


def watch_agent_command(python: object, root: object, state_dir: object, settings_file: object, interval: object) -> dict:
    """The agent's argv and environment: ``python`` (with ansible-core and the SDKs; ansible-playbook beside it) runs the
    agent module from ``root`` (the folder holding ansible_collections/), replaying ``settings_file`` (-e @file)."""
    absolute_paths("watch_agent_command", python=python, root=root, state_dir=state_dir, settings_file=settings_file)
    try:
        seconds = float(interval)
    except (TypeError, ValueError):
        seconds = 0.0
    if not 5 <= seconds <= 86400:
        raise AnsibleFilterError(f"watch_agent_command: interval {interval!r} is not a number of seconds from 5 to 86400 (watch_service_interval)")
    args = ["--interval", f"{seconds:g}", "--state-dir", state_dir, "--retry-start", "--", "-e", f"@{settings_file}"]
    return module_command(python, root, AGENT_MODULE, args)


def _plain(value: object) -> bool:
    if isinstance(value, PLAIN):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return isinstance(value, dict) and all(isinstance(k, str) and _plain(v) for k, v in value.items())


def watch_expose_settings(values: object, environment: object = None) -> dict:
    """The settings the agent's runs replay: ``values`` (name -> value of the run's settings), without the agent's own,
    and with the kubeconfig and Docker endpoint this run took from ``environment`` (the target's) written in, as the
    service does not run in the user's shell; AnsibleFilterError naming a value that is no plain data (it could not be
    written as JSON and read back the same)."""
    if not isinstance(values, dict):
        raise AnsibleFilterError(f"watch_expose_settings: {values!r} is no mapping of settings")
    kept = {k: v for k, v in sorted(values.items()) if k not in NOT_REPLAYED}
    env = environment if isinstance(environment, dict) else {}
    for name, variables in FROM_ENVIRONMENT.items():
        found = next((env[v] for v in variables if env.get(v)), "")
        if name in kept and not kept[name] and found:
            kept[name] = found
    for name, value in kept.items():
        if not _plain(value):
            raise AnsibleFilterError(f"watch_expose_settings: {name} is {type(value).__name__}, not plain data the agent can replay")
    return kept


def _last(status: dict, now: float) -> str:
    ago = seconds_ago(status.get("last_resync"), now)
    if not ago:
        return "it has not resynced yet"
    return f"last resync {ago} ({status.get('last', '?')}: {status.get('result', '?')})"


def watch_finding(installed: object, running: object, status_text: object, manager: str, fix_start: str, now: object = None) -> dict:
    """The doctor's line for the agent: n/a when no service is installed, broken when installed but not running or
    when its last resync failed, else ok with when it last resynced (``status_text``: the agent's status.json)."""
    status, at = service_status(status_text), float(now) if now is not None else time.time()
    failure = last_failure(status, "FAILED")
    fixes = ("-e hostreach_kind_watch=true", fix_start, "fix what the detail names; the agent retries on its own")
    return service_finding(LINK, "service", manager, (installed, running, failure), _last(status, at), fixes)


class FilterModule:
    """hostreach.kind.watch_agent_command, watch_expose_settings, watch_finding"""

    def filters(self) -> dict[str, t.Callable]:
        return {
            "watch_agent_command": watch_agent_command,
            "watch_expose_settings": watch_expose_settings,
            "watch_finding": watch_finding,
        }
