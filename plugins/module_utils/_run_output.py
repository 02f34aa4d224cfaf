# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an ansible-playbook (or ansible-pull) run of this collection's playbooks printed, read by the programs that run
them as the user's service: the watch agent (_watch_playbooks) and the pull run (extensions/pull/run.py,
_pull_source). They run it with OUTPUT_ENV, so the output has the default callback's shape whatever the user's
ansible.cfg says. Pure.
"""

from __future__ import annotations

import json
import re

# The output the readers below expect, whatever the user's ansible.cfg says.
OUTPUT_ENV = {
    "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default",
    "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
    "ANSIBLE_NOCOLOR": "1",
    "ANSIBLE_SHOW_CUSTOM_STATS": "1",
}
RECAP = re.compile(r"^\S+\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
FATAL = re.compile(r"^fatal: \[\S+\]: FAILED! => (\{.*\})$", re.M)
# The closing play's message for a failed host: `<host> failed <task>: <message>` (roles/_common/tasks/hosts_summary.yml)
CLOSING = re.compile(r"\S+ failed ")


def failure_messages(output: str) -> list[str]:
    """The message of each failed task, in the order they failed (a result that is not a JSON object, or has no
    message, is left out). A task failed in a block and rescued prints one too."""
    messages = []
    for found in FATAL.findall(output):
        try:
            result = json.loads(found)
        except ValueError:
            continue
        message = result.get("msg") if isinstance(result, dict) else None
        if isinstance(message, str) and message:
            messages.append(message)
    return messages


def closing_failures(output: str) -> list[str]:
    """The closing play's message for each host that failed, naming the step and its message (the rescued task's own
    line is left out: the closing message repeats it)."""
    return [m for m in failure_messages(output) if CLOSING.match(m)]
