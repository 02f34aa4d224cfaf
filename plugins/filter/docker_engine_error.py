# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What to tell the user when community.docker.docker_host_info gets no answer from the engine (issue 19, item 3).

The Docker SDK's error text is mapped to its cause once here (roles/_common/tasks/docker.yml fails with the message):
a missing SDK names the interpreter, an endpoint that does not answer names the endpoint, the cause, who needed the
engine and what to start. Documentation: docker_engine_error.yml beside this file.
"""

from __future__ import annotations

# The SDK's words for each cause, in the order they are looked for, and the cause in the user's words.
CAUSES = (
    ("No such file or directory", "nothing listens at that path"),
    ("Permission denied", "permission denied: this user may not use that socket"),
    ("Connection refused", "connection refused"),
    ("timed out", "no answer in time"),
)
ENGINES = "Docker Desktop, Colima, OrbStack, Rancher Desktop, dockerd"


def engine_error_cause(error: str) -> str:
    """The cause of ``error`` in the user's words; the error itself when it is none of the known ones."""
    return next((cause for words, cause in CAUSES if words.lower() in error.lower()), error)


def docker_engine_error(error: object, endpoint: str, python: str, needed_by: str) -> str:
    """The message for a failed docker_host_info call: ``error`` (its msg) at ``endpoint``, run by ``python``."""
    text = str(error or "").strip()
    if "Failed to import" in text:
        return (
            f"The interpreter {python} cannot ask the Docker engine at {endpoint}: {text} "
            "Set hostreach_kind_python (or hostreach_kind_venv) to one with the docker SDK."
        )
    return (
        f"No Docker engine answers at {endpoint} ({engine_error_cause(text)}), and {' '.join(needed_by.split())}. "
        f"Start the engine ({ENGINES}), or point hostreach_kind_docker_host (or DOCKER_HOST) at one that runs."
    )


class FilterModule:
    """hostreach.kind.docker_engine_error"""

    def filters(self) -> dict:
        return {"docker_engine_error": docker_engine_error}
