"""Ansible loads every filter file of the collection in each task's worker process the first time a task uses one of
its filters, so a filter file that imports an SDK makes every such task pay for it (the docker SDK: about 60 ms a
task). The filters are pure: none of their imports may reach the docker or kubernetes SDKs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FILTERS = sorted(p.stem for p in (Path(__file__).parents[3] / "plugins" / "filter").glob("*.py"))
HEAVY = ("docker", "kubernetes", "requests", "urllib3")


def test_no_filter_file_imports_an_sdk() -> None:
    imports = "; ".join(f"import ansible_collections.hostreach.kind.plugins.filter.{name}" for name in FILTERS)
    check = f"import sys; {imports}; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}  # the collection as this test process finds it
    loaded = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True, env=environment).stdout.split()
    assert len(FILTERS) >= 10
    assert loaded == [], f"a filter file imports {loaded}: move what it needs into a module_utils file without the SDK"
