"""./bootstrap on a host that already runs Docker's own packages (GitHub's runners: docker-ce, containerd.io)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# What Docker's packages declare (docker/containerd-packaging, and docker-ce's control file).
CONTAINERD_IO = """\
Package: containerd.io
Status: install ok installed
Priority: optional
Section: devel
Installed-Size: 100000
Maintainer: Containerd team
Architecture: amd64
Version: 1.7.27-1
Provides: containerd, runc
Conflicts: containerd, runc
Replaces: containerd, runc
Description: An open and reliable container runtime

Package: docker-ce
Status: install ok installed
Priority: optional
Section: admin
Installed-Size: 100000
Maintainer: Docker
Architecture: amd64
Version: 5:28.2.2-1~ubuntu.24.04~noble
Depends: containerd.io (>= 1.7.27)
Conflicts: docker.io
Description: Docker: the open-source application container engine

"""


def _packages(path_dirs: list[Path]) -> list[str]:
    result = subprocess.run(["/bin/bash", str(REPO / "bootstrap"), "--packages"], capture_output=True, text=True,
                            env={"PATH": ":".join(map(str, path_dirs)), "HOME": "/root"}, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def _tools(directory: Path, *names: str) -> Path:
    """A PATH directory with only these tools (the real ones) in it."""
    directory.mkdir()
    for name in names:
        (directory / name).symlink_to(shutil.which(name))
    return directory


def test_runc_and_docker_io_only_where_docker_did_not_bring_its_own(tmp_path):
    basics = _tools(tmp_path / "basics", "id", "dirname")
    bare = _packages([basics])
    assert "runc" in bare and "docker.io" in bare and "podman" in bare
    docker = tmp_path / "docker-ce"
    docker.mkdir()
    for name in ("runc", "dockerd"):  # as containerd.io and docker-ce install them
        (docker / name).write_text("#!/bin/sh\n")
        (docker / name).chmod(0o755)
    with_docker = _packages([basics, docker])
    assert "runc" not in with_docker and "docker.io" not in with_docker
    assert set(bare) - set(with_docker) == {"runc", "docker.io"}


def test_apt_stops_rather_than_remove_dockers_packages(tmp_path):
    """apt's own resolver, on a dpkg status with containerd.io and docker-ce installed: with bootstrap's
    --no-remove it refuses runc and docker.io instead of removing docker."""
    if not list(Path("/var/lib/apt/lists").glob("*_Packages*")):
        pytest.fail("apt has no package lists here: run `apt-get update` (./bootstrap does when it installs)")
    status = tmp_path / "status"
    status.write_text(CONTAINERD_IO)
    common = ["apt-get", "-s", "-o", f"Dir::State::status={status}", "-o", "Debug::NoLocking=1", "install",
              "--no-install-recommends"]
    env = {**os.environ, "LC_ALL": "C"}
    for package in ("runc", "docker.io"):
        plain = subprocess.run([*common, package], capture_output=True, text=True, env=env, timeout=120)
        assert "Remv containerd.io" in plain.stdout or "Remv docker-ce" in plain.stdout, plain.stdout + plain.stderr
        guarded = subprocess.run([*common, "--no-remove", package], capture_output=True, text=True, env=env,
                                 timeout=120)
        assert guarded.returncode != 0 and "Remv" not in guarded.stdout
        assert "remove is disabled" in guarded.stderr, guarded.stderr
    bootstrap = (REPO / "bootstrap").read_text()
    assert "apt-get install -y -qq --no-install-recommends --no-remove" in bootstrap
