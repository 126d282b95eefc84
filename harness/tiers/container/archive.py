"""A directory tree as an image archive that podman and docker both load with the platform it declares.

``docker import`` records the host's platform whatever it is told (docker 20.10 ignores
``--platform`` there without experimental mode), so an imported ppc64le root would be
linux/amd64 to docker.  An archive in ``docker save`` format (manifest.json, an image
config, one layer) carries the architecture and variant in its config, and every engine
version's ``load`` keeps them.  The engine tags the image only once the whole archive is
in, so an interrupted load leaves no tag behind.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import BinaryIO

from ...errors import ConfigError, HostSetupError
from ...host.engine import Engine

CHUNK = 1 << 20
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def image_config(platform: tuple[str, str | None], layer_digest: str, labels: dict[str, str]) -> bytes:
    """The image's config (OCI image spec), whose `architecture`/`variant` is what engines read as its platform."""
    architecture, variant = platform
    config = {
        "architecture": architecture,
        "os": "linux",
        "config": {"Env": [f"PATH={PATH}"], "Labels": dict(labels)},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{layer_digest}"]},
        "history": [{"created_by": "archsmoke: root filesystem"}],
    }
    if variant:
        config["variant"] = variant
    return json.dumps(config, sort_keys=True).encode()


def _member(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    archive.addfile(info, io.BytesIO(data))


def write_archive(out: BinaryIO, ref: str, platform: tuple[str, str | None], layer: Path, layer_digest: str,
                  labels: dict[str, str]) -> None:
    """The `docker save` layout, streamed: config, manifest, then the layer."""
    config = image_config(platform, layer_digest, labels)
    config_name = f"{hashlib.sha256(config).hexdigest()}.json"
    layer_name = f"{layer_digest}/layer.tar"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [ref], "Layers": [layer_name]}]).encode()
    with tarfile.open(fileobj=out, mode="w|") as archive:
        _member(archive, config_name, config)
        _member(archive, "manifest.json", manifest)
        info = tarfile.TarInfo(layer_name)
        info.size = layer.stat().st_size
        info.mode = 0o644
        with layer.open("rb") as data:
            archive.addfile(info, data)


def tree_layer(root: Path, destination: Path, timeout: float) -> str:
    """The tree as one uncompressed layer tar (numeric owners, as the root filesystem holds them); its sha256.

    Unprivileged (rootless podman), the tree is a copy the user owns, as for the qemu-user tier's user
    namespace: its files belong to root in the image, not to the user's uid."""
    digest = hashlib.sha256()
    owners = ["--owner=0", "--group=0"] if os.geteuid() != 0 else []
    tar = subprocess.Popen(["tar", "--numeric-owner", *owners, "-C", str(root), "-cf", "-", "."],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        with destination.open("wb") as layer:
            assert tar.stdout is not None
            while chunk := tar.stdout.read(CHUNK):
                digest.update(chunk)
                layer.write(chunk)
        tar.wait(timeout=timeout)
    finally:
        if tar.poll() is None:
            tar.kill()
            tar.wait()
    if tar.returncode != 0:
        raise HostSetupError(f"cannot read {root} to make an image: {tar.stderr.read().decode(errors='replace')[-600:]}")
    return digest.hexdigest()


def load_tree(engine: Engine, root: Path, ref: str, platform: tuple[str, str | None], labels: dict[str, str],
              scratch: Path, timeout: float, prefix: str = ".tmp-layer-") -> None:
    """Load `root` into the engine as image `ref` of `platform` (the layer is staged in `scratch`)."""
    with tempfile.TemporaryDirectory(prefix=prefix, dir=scratch) as work:
        layer = Path(work) / "layer.tar"
        try:
            digest = tree_layer(root, layer, timeout)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            raise ConfigError(f"no room in {scratch} to stage the image of {root}: {exc.strerror}",
                              fix="free space there, or choose another cache with --cache-dir") from None
        said = Path(work) / "load.out"
        with said.open("w+b") as output:  # a file, not a pipe: a chatty engine cannot block on a full pipe
            loading = subprocess.Popen(engine.command("load"), stdin=subprocess.PIPE, stdout=output,
                                       stderr=subprocess.STDOUT)
            try:
                assert loading.stdin is not None
                try:
                    write_archive(loading.stdin, ref, platform, layer, digest, labels)
                    loading.stdin.close()
                except BrokenPipeError:
                    pass  # the engine stopped reading: what it said tells why
                loading.wait(timeout=timeout)
            finally:
                if loading.poll() is None:
                    loading.kill()
                    loading.wait()
            output.seek(0)
            why = output.read().decode(errors="replace").strip()
    if loading.returncode != 0:
        raise HostSetupError(f"{engine.name} load of {ref} failed: {why[-600:] or 'no message'}",
                             fix="run `python -m archsmoke doctor`")
