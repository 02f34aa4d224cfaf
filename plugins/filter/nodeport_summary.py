# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nodeport_services role's summary: its rows from kind_nodeport's results, and the table a person reads.

Pure functions, one call each from the role. They were Jinja templates; at 300 Services those made about 4,000
filter calls through Ansible's plugin wrapper and cost 2.3 s of CPU per run (docs/benchmarks.md, variant C).
The doctor's lines for the URLs (nodeport_url_findings) read the same diagnoses.
Documentation: nodeport_summary_rows.yml, nodeport_summary_file.yml, nodeport_summary_table.yml and
nodeport_url_findings.yml beside this file.
"""

from __future__ import annotations

import typing as t

from ansible_collections.hostreach.kind.plugins.filter.chain import finding
from ansible_collections.hostreach.kind.plugins.module_utils._diagnosis import NO_READY_ENDPOINTS, NOT_PROBED, REACHABLE

_NOT_APPLICABLE = (NO_READY_ENDPOINTS, NOT_PROBED)  # nothing to reach yet, or not a TCP port: the doctor's n/a
_SETTLED = (REACHABLE, *_NOT_APPLICABLE)  # what does not count as unreachable
# The summary file's keys: what the cluster is, not what this run did (changed, waited), so a rerun that changes
# nothing leaves the file as it is.
FILE_KEYS = ("cluster", "namespace", "service", "type", "url", "reachable", "diagnosis", "hint", "status", "endpoints", "skipped")


def summary_rows(results: list) -> list:
    """One row per URL of every Service of every cluster (a Service without a URL gets one row, url None): what
    kind_nodeport reported for it (the loop's `results`, one per cluster) and the probe of that URL."""
    rows = []
    for run in results or []:
        probes = {probe["url"]: probe for probe in run.get("probes") or []}
        for svc in run.get("services") or []:
            row = {
                "cluster": run["item"],
                "namespace": svc["namespace"],
                "service": svc["name"],
                "type": svc["type_after"],
                "changed": svc["changed"],
                "skipped": svc["skip_reason"],
            }
            rows += [_url_row(row, probes.get(url, {}), url, svc.get("endpoints")) for url in svc["urls"]] or [_no_url_row(row)]
    return rows


def _url_row(row: dict, probe: dict, url: str, endpoints: dict | None) -> dict:
    found = {"reachable": probe.get("reachable"), "diagnosis": probe.get("diagnosis", NOT_PROBED), "hint": probe.get("hint", "")}
    return {**row, "url": url, **found, "status": probe.get("status"), "waited": probe.get("waited", 0), "endpoints": endpoints}


def _no_url_row(row: dict) -> dict:
    diagnosis = "skipped" if row["skipped"] else "no URL"
    return {**row, "url": None, "reachable": None, "diagnosis": diagnosis, "hint": row["skipped"] or "", "status": None, "waited": 0, "endpoints": None}


def summary_file(rows: list) -> list:
    """The rows as the summary file holds them (FILE_KEYS only): written by the role, and by the watch agent, which
    merges the rows of every cluster from its runs' published outcomes."""
    return [{key: row[key] for key in FILE_KEYS if key in row} for row in rows]


def summary_table(rows: list, state: str = "present") -> list:
    """The summary as lines of a table, also readable at hundreds of rows: reachable URLs first, then the unreachable
    ones, then those without ready endpoints, then the unprobed, then Services without URLs; a count line; and what to
    do, once per reason. With state absent: what each Service is now."""
    return _restored_table(rows) if state == "absent" else _exposed_table(rows)


def _sorted(rows: list, keys: tuple) -> list:
    return sorted(rows, key=lambda row: tuple(str(row[key] or "").lower() for key in keys))


def _format(widths: list) -> str:
    return "  ".join(f"%-{width}s" for width in widths) + "  %s"


def _restored_table(rows: list) -> list:
    fmt = _format([max([7, *(len(r["cluster"]) for r in rows)]), max([7, *(len(r["service"]) for r in rows)]), max([9, *(len(r["namespace"]) for r in rows)])])
    lines = [fmt % ("CLUSTER", "SERVICE", "NAMESPACE", "NOW")]
    for row in _sorted(rows, ("cluster", "namespace", "service")):
        now = f"skipped: {row['skipped']}" if row["skipped"] else row["type"] + (" (restored)" if row["changed"] else "")
        lines.append(fmt % (row["cluster"], row["service"], row["namespace"], now))
    return lines + ([] if rows else ["no Services matched"])


def _exposed_table(rows: list) -> list:
    groups = _groups(rows)
    names = [f"{r['namespace']}/{r['service']}" for r in rows]
    fmt = _format([max([7, *(len(r["cluster"]) for r in rows)]), max([7, *map(len, names)]), max([3, *(len(r["url"] or "-") for r in rows)])])
    lines = [fmt % ("CLUSTER", "SERVICE", "URL", "RESULT")]
    for group in groups.values():
        for row in _sorted(group, ("cluster", "namespace", "service", "url")):
            lines.append(fmt % (row["cluster"], f"{row['namespace']}/{row['service']}", row["url"] or "-", result_text(row)))
    if not rows:
        lines.append("no Services matched")
    return [*lines, _count_line(groups), *_hint_lines(groups["unreachable"] + groups["no_endpoints"])]


def _groups(rows: list) -> dict[str, list]:
    """The rows by what became of them, in the table's order."""
    return {
        "reachable": [r for r in rows if r["diagnosis"] == REACHABLE],
        "unreachable": [r for r in rows if r["url"] is not None and r["diagnosis"] not in _SETTLED],
        "no_endpoints": [r for r in rows if r["diagnosis"] == NO_READY_ENDPOINTS],
        "not_probed": [r for r in rows if r["diagnosis"] == NOT_PROBED],
        "without_url": [r for r in rows if r["url"] is None],
    }


def result_text(row: dict) -> str:
    """The RESULT column of one row."""
    endpoints = row.get("endpoints") or {}
    if row["diagnosis"] == REACHABLE:
        return REACHABLE + (f" (HTTP {row['status']})" if row["status"] else "")
    if row["skipped"]:
        return f"skipped: {row['skipped']}"
    if row["diagnosis"] == NO_READY_ENDPOINTS and endpoints.get("not_ready"):
        return f"{NO_READY_ENDPOINTS} ({endpoints['not_ready']} not ready)"
    if row["diagnosis"] == NO_READY_ENDPOINTS and endpoints.get("selector"):
        return f"{NO_READY_ENDPOINTS} (no pod matches {endpoints['selector']})"
    return row["diagnosis"]


def _count_line(groups: dict[str, list]) -> str:
    line = f"{len(groups['reachable'])} reachable, {len(groups['no_endpoints'])} without ready endpoints, {len(groups['unreachable'])} unreachable"
    line += f", {len(groups['not_probed'])} not probed" if groups["not_probed"] else ""
    return line + (f", {len(groups['without_url'])} without a URL" if groups["without_url"] else "")


def _hint_lines(failed: list) -> list:
    """Per reason, in order of first appearance: how many rows, and the first hint (the others counted)."""
    lines = []
    for diagnosis in _unique(row["diagnosis"] for row in failed):
        hits = [row for row in failed if row["diagnosis"] == diagnosis]
        hints = _unique(row["hint"] for row in hits)
        more = f" (and {len(hints) - 1} more like it: see the rows above)" if len(hints) > 1 else ""
        lines.append(f"{diagnosis} ({len(hits)}): {hints[0]}{more}")
    return lines


def _unique(values: t.Iterable[str]) -> list:
    return list(dict.fromkeys(values))


def url_findings(probes: list) -> list:
    """The doctor's line for each probed URL (kind_service_urls' probes): ok when it answered, n/a when its Service has
    no ready endpoints or the port is not TCP (not probed), else broken; the detail is the diagnosis, the HTTP status,
    why there are no endpoints and the error; the fix is the probe's hint."""
    lines = []
    for probe in probes or []:
        diagnosis, hint = probe.get("diagnosis") or "", probe.get("hint") or ""
        status = "ok" if probe.get("reachable") else "n/a" if diagnosis in _NOT_APPLICABLE else "broken"
        detail = diagnosis + (f" (HTTP {probe['status']})" if probe.get("status") else "")
        detail += f": {hint}" if hint and diagnosis == NO_READY_ENDPOINTS else ""
        detail += f": {probe['error']}" if probe.get("error") else ""
        lines.append(finding(f"URL {probe.get('url')}", status, detail, hint))
    return lines


class FilterModule:
    """hostreach.kind.nodeport_summary_rows, nodeport_summary_file, nodeport_summary_table, nodeport_url_findings"""

    def filters(self) -> dict:
        return {
            "nodeport_summary_rows": summary_rows,
            "nodeport_summary_file": summary_file,
            "nodeport_summary_table": summary_table,
            "nodeport_url_findings": url_findings,
        }
