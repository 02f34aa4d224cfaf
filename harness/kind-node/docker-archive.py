#!/usr/bin/env python3
"""Writes a one-layer image as a docker-archive tarball (the `docker save` format) from a directory.

`ctr images import` and `docker load` both read it, so the Kubernetes component images can be made
without going through (and leaving tags behind in) the host's Docker image store.
Usage: docker-archive.py ROOTFS_DIR NAME:TAG OUTPUT.tar [--env K=V]... [--label K=V]...
                         [--entrypoint JSON_LIST] [--stop-signal SIGNAL]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import tarfile
import tempfile


def _root_owned(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def _sha256_of_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    archive.addfile(info, io.BytesIO(data))


def write_archive(rootfs: str, tag: str, output: str, config: dict) -> None:
    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(output))) as tmp:
        layer_path = os.path.join(tmp, "layer.tar")
        with tarfile.open(layer_path, "w", format=tarfile.PAX_FORMAT) as layer:
            for entry in sorted(os.listdir(rootfs)):
                layer.add(os.path.join(rootfs, entry), arcname=entry, filter=_root_owned)
        layer_id = _sha256_of_file(layer_path)
        image_config = json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": config,
                "rootfs": {"type": "layers", "diff_ids": [f"sha256:{layer_id}"]},
            },
            sort_keys=True,
        ).encode()
        config_name = hashlib.sha256(image_config).hexdigest() + ".json"
        manifest = [{"Config": config_name, "RepoTags": [tag], "Layers": [f"{layer_id}/layer.tar"]}]
        partial = output + ".partial"
        with tarfile.open(partial, "w") as archive:
            archive.add(layer_path, arcname=f"{layer_id}/layer.tar", filter=_root_owned)
            _add_bytes(archive, config_name, image_config)
            _add_bytes(archive, "manifest.json", json.dumps(manifest).encode())
        os.replace(partial, output)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rootfs")
    parser.add_argument("tag")
    parser.add_argument("output")
    parser.add_argument("--env", action="append", default=[])
    parser.add_argument("--label", action="append", default=[])
    parser.add_argument("--entrypoint", type=json.loads)
    parser.add_argument("--stop-signal")
    args = parser.parse_args()
    config: dict = {"Env": args.env, "Labels": dict(label.split("=", 1) for label in args.label)}
    if args.entrypoint:
        config["Entrypoint"] = args.entrypoint
    if args.stop_signal:
        config["StopSignal"] = args.stop_signal
    write_archive(args.rootfs, args.tag, args.output, config)


if __name__ == "__main__":
    main()
