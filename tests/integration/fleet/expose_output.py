"""What `ansible-playbook` with its default callback showed a person at the terminal, read back by the fleet tests:
the PLAY RECAP, each task's `fatal:` lines (their JSON), and the closing summary of expose.yml and teardown.yml
(roles/_common/templates/hosts_summary.j2: `HOST  RESULT  WHAT`, one row per host, then a count line)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

RECAP = re.compile(
    r"^(?P<host>\S+)\s+: ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)"
    r"\s+skipped=(?P<skipped>\d+)\s+rescued=(?P<rescued>\d+)\s+ignored=(?P<ignored>\d+)",
    re.MULTILINE,
)
TASK_HEADER = re.compile(r"^TASK \[(?P<name>.*)\] \**$", re.MULTILINE)
FATAL = re.compile(r"^fatal: \[(?P<host>[^\]]+)\]: (?P<kind>FAILED|UNREACHABLE)! => (?P<json>\{.*\})$", re.MULTILINE)
STATUS = re.compile(r"^(?P<status>ok|changed|skipping|failed|fatal): \[(?P<host>[^\]]+)\]", re.MULTILINE)
SUMMARY_TASK = "Every host and what became of it"
COUNT_LINE = re.compile(r"^(?P<total>\d+) hosts?: (?P<counts>.*)$")


def recap(output: str) -> dict[str, dict[str, int]]:
    """Host -> the PLAY RECAP's counters for it."""
    return {m["host"]: {k: int(v) for k, v in m.groupdict().items() if k != "host"} for m in RECAP.finditer(output)}


def tasks(output: str) -> list[tuple[str, str]]:
    """(task name, what was printed under it) in order."""
    headers = list(TASK_HEADER.finditer(output))
    ends = [h.start() for h in headers[1:]] + [len(output)]
    return [(h["name"], output[h.end() : end]) for h, end in zip(headers, ends, strict=True)]


def statuses(output: str, task: str) -> dict[str, str]:
    """Host -> how the (last) task whose name ends with `task` went for it: ok, changed, skipping, failed or fatal."""
    found: dict[str, str] = {}
    for name, body in tasks(output):
        if name.endswith(task):
            found = {m["host"]: m["status"] for m in STATUS.finditer(body)}
    return found


def fatals(output: str, task: str) -> dict[str, dict]:
    """Host -> the result of its `fatal:` line under the (last) task whose name ends with `task`."""
    found: dict[str, dict] = {}
    for name, body in tasks(output):
        if name.endswith(task):
            found = {m["host"]: json.loads(m["json"]) for m in FATAL.finditer(body)}
    return found


def unreachable_messages(output: str) -> dict[str, str]:
    """Host -> the msg of its first UNREACHABLE line."""
    found: dict[str, str] = {}
    for m in FATAL.finditer(output):
        if m["kind"] == "UNREACHABLE":
            found.setdefault(m["host"], json.loads(m["json"]).get("msg", ""))
    return found


def _debug_lines(body: str) -> list[str]:
    """The msg list of the debug result printed in `body` (`ok: [host] => {` ... `}`)."""
    start = re.search(r"^ok: \[[^\]]+\] => \{$", body, re.MULTILINE)
    if start is None:
        raise AssertionError(f"no debug result under the summary task:\n{body}")
    end = body.index("\n}\n", start.end()) + 2
    return json.loads(body[start.end() - 1 : end])["msg"]


@dataclass
class HostsSummary:
    """The closing summary as printed: its lines, rows by host (RESULT, WHAT), and the count line's numbers."""

    lines: list[str]
    rows: dict[str, tuple[str, str]]
    total: int
    counts: dict[str, int]

    def __str__(self) -> str:
        return "\n".join(self.lines)


def hosts_summary(output: str) -> HostsSummary:
    """The (last) closing summary in the output; columns found from the header line."""
    bodies = [body for name, body in tasks(output) if name.endswith(SUMMARY_TASK)]
    if not bodies:
        raise AssertionError(f"no task {SUMMARY_TASK!r} in the output")
    lines = _debug_lines(bodies[-1])
    header, *rest = lines
    assert header.split() == ["HOST", "RESULT", "WHAT"], lines
    result_at, what_at = header.index("RESULT"), header.index("WHAT")
    rows = {line[:result_at].strip(): (line[result_at:what_at].strip(), line[what_at:].strip()) for line in rest[:-1]}
    count = COUNT_LINE.match(rest[-1])
    assert count is not None, lines
    counts = {status: int(n) for n, status in (part.split(" ", 1) for part in count["counts"].split(", "))}
    return HostsSummary(lines, rows, int(count["total"]), counts)
