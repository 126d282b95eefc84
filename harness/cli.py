"""`python -m harness`: manage the image cache and check the host."""

from __future__ import annotations

import argparse
import fcntl
import sys
from pathlib import Path

from . import doctor, rootfs
from .cache import Cache, remove_tree
from .errors import ConfigError, HarnessError
from .progress import stderr_sink
from .signals import terminate_as_interrupt
from .targets import TargetCatalog


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m harness", description=__doc__)
    parser.add_argument("--cache-dir", type=Path, help="cache directory (default: $ARCHSMOKE_CACHE_DIR or "
                                                       "$XDG_CACHE_HOME/archsmoke)")
    parser.add_argument("--targets-dir", type=Path, help="directory of target definitions (default: vms/)")
    commands = parser.add_subparsers(dest="command", required=True)
    images = commands.add_parser("images", help="root filesystem cache").add_subparsers(dest="action", required=True)
    images.add_parser("list", help="cached root filesystems and whether each is sound")
    build = images.add_parser("build", help="build (or check) the root filesystems of ARCH... ('all' for every one)")
    build.add_argument("arches", nargs="+", metavar="ARCH")
    build.add_argument("--debian-mirror", help="Debian archive URL (default: this host's apt sources)")
    prune = images.add_parser("prune", help="remove damaged, outdated and half-built entries")
    prune.add_argument("--all", action="store_true", help="remove every cached root filesystem")
    prune.add_argument("--dry-run", action="store_true", help="only say what would be removed")
    check = commands.add_parser("doctor", help="check this host and print the fix for anything missing")
    check.add_argument("arches", nargs="*", metavar="ARCH", help="targets to check (default: all)")
    check.add_argument("--debian-mirror", help="Debian archive URL to check for")
    return parser


def _size(path: Path) -> str:
    total = sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    return f"{total / (1 << 20):.0f} MiB"


def images_list(cache: Cache, catalog: TargetCatalog) -> int:
    current = {rootfs.cache_key(t) for t in catalog.targets.values()}
    rows = rootfs.list_entries(cache)
    if not rows:
        print(f"no root filesystems in {cache.root / rootfs.KIND}")
    for path, manifest, why in rows:
        if manifest is None:
            state = f"DAMAGED ({why})"
        else:
            state = "current" if path.name in current else "outdated (no target uses this recipe)"
            state += f", built {manifest['built_at']} in {manifest['build_seconds']} s, {manifest['entries']} entries"
        print(f"{path.name}  {_size(path)}  {state}")
    return 0


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
    for path in sorted(area.iterdir()) if area.is_dir() else []:
        if path.name.endswith(".lock"):
            continue
        if path.name.startswith(".tmp-"):
            key = path.name[len(".tmp-"):].rsplit("-", 1)[0]
            if not _locked(area / f"{key}.lock"):  # a build in progress holds its lock
                doomed.append((path, "unfinished build"))
            continue
        manifest, why = rootfs.check_entry(path, path.name)
        if everything:
            doomed.append((path, "--all"))
        elif manifest is None:
            doomed.append((path, f"damaged: {why}"))
        elif path.name not in current:
            doomed.append((path, "outdated recipe"))
    for path, reason in doomed:
        print(f"{'would remove' if dry_run else 'removing'} {path.name} ({reason})")
        if not dry_run:
            remove_tree(path)
    if not doomed:
        print("nothing to prune")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    terminate_as_interrupt()
    try:
        catalog = TargetCatalog.load(args.targets_dir)
        cache = Cache(args.cache_dir)
        if args.command == "doctor":
            targets = catalog.select(args.arches or ["all"])
            checks = doctor.run_checks(targets, cache, args.debian_mirror)
            print(doctor.render(checks))
            return 0 if all(c.ok for c in checks) else 3
        if args.action == "list":
            return images_list(cache, catalog)
        if args.action == "build":
            return images_build(cache, catalog, args.arches, args.debian_mirror)
        if args.action == "prune":
            return images_prune(cache, catalog, args.all, args.dry_run)
        raise ConfigError(f"unknown command {args.action}")
    except HarnessError as error:
        print(f"archsmoke: error: {error}", file=sys.stderr)
        return error.exit_code
    except OSError as exc:  # the host refused something the checks above did not foresee
        print(f"archsmoke: error: {exc.strerror or exc}: {exc.filename or ''}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("archsmoke: interrupted", file=sys.stderr)
        return 130
