"""harness/kind-node/docker-archive.py writes the `docker save` layout that `ctr images import` and
`docker load` read: checked here by reading the tarball back."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

from harness.versions import HARNESS_DIR

WRITER = HARNESS_DIR / "kind-node" / "docker-archive.py"


def test_archive_holds_one_root_owned_layer_named_and_configured_as_asked(tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    (rootfs / "usr" / "local" / "bin").mkdir(parents=True)
    (rootfs / "usr" / "local" / "bin" / "tool").write_text("#!/bin/sh\n")
    (rootfs / "bin").symlink_to("usr/bin")
    output = tmp_path / "image.tar"
    options = ["--env", "PATH=/usr/local/bin", "--label", "k=v=w", "--entrypoint", '["/usr/local/bin/tool"]', "--stop-signal", "SIGRTMIN+3"]
    subprocess.run([sys.executable, str(WRITER), str(rootfs), "example.invalid/tool:v1", str(output), *options], check=True)

    with tarfile.open(output) as archive:
        (manifest,) = json.load(archive.extractfile("manifest.json"))
        config_bytes = archive.extractfile(manifest["Config"]).read()
        (layer_name,) = manifest["Layers"]
        layer_bytes = archive.extractfile(layer_name).read()

    assert manifest["RepoTags"] == ["example.invalid/tool:v1"]
    assert manifest["Config"] == hashlib.sha256(config_bytes).hexdigest() + ".json"
    config = json.loads(config_bytes)
    assert config["rootfs"] == {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer_bytes).hexdigest()]}
    assert config["config"] == {"Env": ["PATH=/usr/local/bin"], "Labels": {"k": "v=w"}, "Entrypoint": ["/usr/local/bin/tool"], "StopSignal": "SIGRTMIN+3"}
    with tarfile.open(fileobj=io.BytesIO(layer_bytes)) as layer:
        members = {member.name: member for member in layer.getmembers()}
    assert members["usr/local/bin/tool"].isfile()
    assert members["bin"].issym() and members["bin"].linkname == "usr/bin"
    assert {(member.uid, member.gid) for member in members.values()} == {(0, 0)}
    assert not list(tmp_path.glob("*.partial"))
