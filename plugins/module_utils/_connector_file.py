# Copyright: hostreach.kind contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""docker-connector's config on disk: read, plan (_connector_conf) and write (_config_file) under the file's lock, for
every module that owns route lines in it (docker_bridge_routes the bridge networks', kind_cluster_routes a cluster's)."""

from __future__ import annotations

import typing as t

from ansible_collections.hostreach.kind.plugins.module_utils import _config_file, _connector_conf
from ansible_collections.hostreach.kind.plugins.module_utils._errors import ConfigFileError


class Routes(t.NamedTuple):
    """What the file must say: subnets that need a line, subnets whose lines go, and (prune) the only ones kept."""

    wanted: list
    unwanted: list
    keep: list | None


class Outcome(t.NamedTuple):
    before: str | None
    planned: _connector_conf.Plan
    changed: bool
    extra: dict  # backup_file, removed_temp_files


def update(module: t.Any, target: str, routes: Routes, owner: str | None = None, create: bool = True, refuse_exposure: bool = False) -> Outcome:
    """Read, plan and (unless check mode) write the file at `target` (the path's realpath), all under its lock. The
    module's params give `path` (for messages), and may give `expose`, `backup` and the file common arguments.
    `create`: a missing file is made even when no line is wanted. `refuse_exposure`: lines that widen what docker-connector
    exposes go (_connector_conf.exposure), in the same write."""
    params = module.params
    with _config_file.locked(target):
        before = _config_file.read_text(target)
        planned = _connector_conf.plan(
            _connector_conf.parse(before or ""), routes.wanted, routes.unwanted, routes.keep, params.get("expose"), owner, refuse_exposure
        )
        changed = planned.text != (before or "") or (before is None and create)
        problem = _config_file.write_problem(target) if changed else None
        if problem:
            raise ConfigFileError(f"cannot write {params['path']}: {problem}; nothing was changed", path=params["path"])
        extra = {}
        if not module.check_mode:
            extra["removed_temp_files"] = _config_file.remove_stale_temp_files(target)
            if changed and before is not None and params.get("backup"):
                extra["backup_file"] = module.backup_local(target)
            if changed:
                _config_file.write(module, target, planned.text)
    if "mode" in params and (before is not None or (changed and not module.check_mode)):
        changed = module.set_fs_attributes_if_different(module.load_file_common_arguments(params, path=target), changed)
    return Outcome(before, planned, changed, {k: v for k, v in extra.items() if v})
