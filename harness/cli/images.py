"""`python -m archsmoke images ...`: the root filesystem cache and the container images made from it."""

from __future__ import annotations

import fcntl
from pathlib import Path

from .. import rootfs
from ..cache import Cache, read_entry, remove_tree
from ..progress import stderr_sink
from ..targets import TargetCatalog
from ..tiers import TIERS
from ..tiers.tier import Artefact


def _size(path: Path) -> str:
    total = sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    return f"{total / (1 << 20):.0f} MiB"


def images_list(cache: Cache, catalog: TargetCatalog) -> int:
    current = {rootfs.cache_key(t) for t in catalog.targets.values()}
    rows = cache.entries(rootfs.KIND, rootfs.verify_tree)
    if not rows:
        print(f"no root filesystems in {cache.root / rootfs.KIND}")
    for path, entry, why in rows:
        if entry is None:
            state = f"DAMAGED ({why})"
        else:
            meta = entry.meta
            state = "current" if path.name in current else "outdated (no target uses this recipe)"
            state += (f", built {meta.get('built_at', '?')} in {meta.get('build_seconds', '?')} s, "
                      f"{meta.get('entries', '?')} entries")
        print(f"{path.name}  {_size(path)}  {state}")
    by_kind: dict[str, list[Artefact]] = {}
    for artefact in _artefacts():
        by_kind.setdefault(artefact.kind, []).append(artefact)
    for kind, artefacts in by_kind.items():
        print(f"\n{ARTEFACTS_HEADING} ({kind}s, made from root filesystems):")
        for artefact in artefacts:
            state = "current" if artefact.rootfs_key in current else "outdated (no target uses its root filesystem)"
            print(f"{artefact.ref}  from {artefact.rootfs_key}, {state}")
    return 0


ARTEFACTS_HEADING = "kept by tiers"


def _artefacts() -> list[Artefact]:
    """What every tier keeps outside the cache (the container tier's imported images)."""
    return [artefact for tier in TIERS.values() for artefact in tier.artefacts()]


def images_build(cache: Cache, catalog: TargetCatalog, arches: list[str], mirror: str | None) -> int:
    builder = rootfs.RootfsBuilder(cache, mirror, stderr_sink())
    for target in catalog.select(arches):
        built = builder.ensure(target)
        print(f"{target.name}: {built.path}")
    return 0


def _locked(lock: Path) -> bool:
    if not lock.exists():
        return False
    with open(lock) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def images_prune(cache: Cache, catalog: TargetCatalog, everything: bool, dry_run: bool) -> int:
    area = cache.root / rootfs.KIND
    current = {rootfs.cache_key(t) for t in catalog.targets.values()}
    doomed: list[tuple[Path, str]] = []
    # Images belong to the engine, shared by every cache on the host: only those made from this cache's root
    # filesystems are this cache's to remove.
    ours = {path.name for path in area.iterdir()} if area.is_dir() else set()
    for path in sorted(area.iterdir()) if area.is_dir() else []:
        if path.name.endswith(".lock"):
            continue
        if path.name.startswith(".tmp-"):
            key = path.name[len(".tmp-"):].rsplit("-", 1)[0]
            if not _locked(area / f"{key}.lock"):  # a build in progress holds its lock
                doomed.append((path, "unfinished build"))
            continue
        entry, why = read_entry(path, path.name, rootfs.verify_tree)
        if everything:
            doomed.append((path, "--all"))
        elif entry is None:
            doomed.append((path, f"damaged: {why}"))
        elif path.name not in current:
            doomed.append((path, "outdated recipe"))
    for path, reason in doomed:
        print(f"{'would remove' if dry_run else 'removing'} {path.name} ({reason})")
        if not dry_run:
            remove_tree(path)
    others = 0
    for artefact in _artefacts():
        if artefact.rootfs_key not in ours:
            others += 1
        elif everything or artefact.rootfs_key not in current:
            doomed.append((Path(artefact.ref), artefact.kind))
            print(f"{'would remove' if dry_run else 'removing'} {artefact.kind} {artefact.ref} "
                  f"({'--all' if everything else 'its root filesystem is outdated'})")
            if not dry_run:
                artefact.remove()
    if others:
        print(f"left {others} archsmoke artefact{'s' if others > 1 else ''} made from root filesystems of another "
              f"cache (not in {cache.root})")
    if not doomed:
        print("nothing to prune")
    return 0


def images_verify(cache: Cache, catalog: TargetCatalog, arches: list[str], deep: bool) -> int:
    """0 when every chosen target's cached root filesystem is sound, 1 when one is damaged or missing."""
    damaged = 0
    for target in catalog.select(arches):
        key = rootfs.cache_key(target)
        entry, why = read_entry(cache.root / rootfs.KIND / key, key, rootfs.verify_tree)
        if entry is not None and deep:
            changed = rootfs.changed_files(entry.path)
            why = f"content changed: {', '.join(changed[:10])}" + (" ..." if len(changed) > 10 else "") if changed else ""
            entry = None if changed else entry
        damaged += entry is None
        print(f"{target.name}: {key} " + (f"DAMAGED ({why})" if entry is None else
                                          "sound" + (" (every file's content checked)" if deep else " (shape checked)")))
    return 1 if damaged else 0
