"""Container images for the container tier: imported from archsmoke's root filesystems, or pinned by digest.

Imported images (loaded from an archive that declares the target's platform,
see archive.py) are tagged with the root filesystem's content key and carry its
tree digest as a label, so an image is reused only for exactly the tree it was
made from and the tier works with no registry at all.  Pinned images are pulled
by digest; either kind must declare the target's platform before it is used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ...cache import Cache, remove_tree
from ...errors import ConfigError, DownloadError, HostSetupError
from ...host.engine import Engine
from ...progress import Progress, Sink
from ...rootfs import RootFilesystem
from ...targets import Target
from .archive import load_tree
from .spec import pinned_image

REPOSITORY = "localhost/archsmoke"
TREE_LABEL = "io.archsmoke.tree-digest"
KEY_LABEL = "io.archsmoke.rootfs-key"
LOCK_KIND = "images"


@dataclass(frozen=True)
class Image:
    ref: str
    origin: str  # what the report shows: where this image came from
    has_python: bool


def imported_ref(rootfs: RootFilesystem, repository: str = REPOSITORY) -> str:
    name, _, digest = rootfs.key.rpartition("-")
    return f"{repository}/{name}:{digest}"


def inspect(engine: Engine, ref: str) -> dict | None:
    result = engine.run("image", "inspect", ref, check=False)
    if result.returncode != 0:
        return None
    found = json.loads(result.stdout or b"[]")
    return found[0] if found else None


def labels(details: dict) -> dict[str, str]:
    # podman has Labels at the top; docker only under Config.
    return details.get("Labels") or (details.get("Config") or {}).get("Labels") or {}


def check_platform(details: dict, target: Target, ref: str) -> None:
    """Refuse an image built for another platform, before it could run under the wrong emulator."""
    want_arch, want_variant = target.oci_platform
    arch, variant, system = details.get("Architecture"), details.get("Variant"), details.get("Os")
    wrong = system not in (None, "linux") or arch != want_arch or (want_variant and variant not in (None, want_variant))
    if wrong:
        found = "/".join(p for p in (system or "?", arch or "?", variant) if p)
        raise ConfigError(
            f"image {ref} is for {found}, but target {target.name} is {target.platform_name}",
            fix=f"pin the {target.platform_name} image in {target.source.name} (its per-platform digest)",
        )


def from_rootfs(engine: Engine, rootfs: RootFilesystem, cache: Cache, sink: Sink | None = None,
                repository: str = REPOSITORY) -> Image:
    """The root filesystem as an image, imported unless an image of exactly this tree exists."""
    target = rootfs.target
    ref = imported_ref(rootfs, repository)
    tree = rootfs.manifest["tree_digest"]
    origin = f"image {ref} from {rootfs.describe()}"
    with cache.lock(LOCK_KIND, rootfs.key):
        details = inspect(engine, ref)
        if details is not None and labels(details).get(TREE_LABEL) == tree:
            check_platform(details, target, ref)
            return Image(ref, origin, target.has_python)
        progress = Progress(f"image {target.name}", sink)
        progress.say(f"importing root filesystem {rootfs.key} ({rootfs.manifest.get('entries', '?')} entries) as {ref}")
        scratch = cache.area(LOCK_KIND)
        for stale in scratch.glob(f".tmp-{rootfs.key}-*"):  # left by a run killed while importing
            remove_tree(stale)
        load_tree(engine, rootfs.root, ref, target.oci_platform, {TREE_LABEL: tree, KEY_LABEL: rootfs.key},
                  scratch, target.timeouts.build, prefix=f".tmp-{rootfs.key}-")
        details = inspect(engine, ref)
        if details is None:
            raise HostSetupError(f"{engine.name} imported {ref} but cannot inspect it")
        check_platform(details, target, ref)
        progress.say(f"imported {ref}")
        return Image(ref, origin, target.has_python)


def pinned(engine: Engine, target: Target, sink: Sink | None = None) -> Image:
    """The target's digest-pinned image, pulled unless present, and checked against the target's platform."""
    if pinned_image(target) is None:
        raise ConfigError(f"target {target.name} pins no image (no 'image' field in {target.source.name})",
                          fix="use --image-source rootfs, or add image.ref (name@sha256:...) to the target")
    ref = pinned_image(target).ref
    details = inspect(engine, ref)
    if details is None:
        progress = Progress(f"image {target.name}", sink)
        progress.say(f"pulling {ref}")
        platform = engine.platform_flags(target)
        result = engine.run("pull", *platform, ref, timeout=target.timeouts.build, check=False)
        if result.returncode != 0:
            why = result.stderr.decode(errors="replace").strip().splitlines()
            raise DownloadError(f"cannot pull {ref} for {target.name}: {why[-1] if why else 'no message'}",
                                fix="on a host without registry access use --image-source rootfs "
                                    "(images imported from archsmoke's root filesystems)")
        details = inspect(engine, ref)
        if details is None:
            raise DownloadError(f"{engine.name} pulled {ref} but cannot inspect it")
        progress.say(f"pulled {ref}")
    check_platform(details, target, ref)
    return Image(ref, f"image {ref}", pinned_image(target).has_python)


def list_imported(engine: Engine) -> list[tuple[str, str]]:
    """(ref, rootfs key) of every image archsmoke imported (the same template works on podman and docker)."""
    result = engine.run("images", "--filter", f"label={KEY_LABEL}", "--format", "{{.Repository}}:{{.Tag}}")
    refs = sorted(set(result.stdout.decode(errors="replace").split()))
    return [(ref, labels(details).get(KEY_LABEL, "?")) for ref in refs if (details := inspect(engine, ref))]
