"""`python -m harness`: manage the image cache and check the host."""

from __future__ import annotations

import argparse
import fcntl
import os
import sys
from pathlib import Path

from . import doctor, engine, report, rootfs
from . import images as container_images
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
    images.add_parser("key", help="print the cache key of ARCH's root filesystem (for CI caches)").add_argument("arch")
    export = images.add_parser("export", help="write ARCH's cached root filesystem to a tar file (for CI caches)")
    export.add_argument("arch")
    export.add_argument("file", type=Path)
    importing = images.add_parser("import", help="put a root filesystem exported with `images export` into the cache")
    importing.add_argument("file", type=Path)
    report = commands.add_parser("report", help="merge JUnit files into one Markdown report; exit 1 if anything failed")
    report.add_argument("files", nargs="+", type=Path, metavar="JUNIT_XML")
    report.add_argument("--output", type=Path, help="write the report here instead of to stdout")
    report.add_argument("--github-step-summary", action="store_true",
                        help="also append it to the file named by $GITHUB_STEP_SUMMARY")
    report.add_argument("--max-chars", type=int, default=65_536, help="size limit (default: a GitHub comment's)")
    report.add_argument("--title", default="archsmoke report")
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
    chosen = _engine_if_any()
    imported = container_images.list_imported(chosen) if chosen is not None else []
    if imported:
        print(f"\n{CONTAINER_IMAGES_HEADING} ({chosen.name}, imported from root filesystems):")
    for ref, key in imported:
        state = "current" if key in current else "outdated (no target uses its root filesystem)"
        print(f"{ref}  from {key}, {state}")
    return 0


CONTAINER_IMAGES_HEADING = "container images"


def _engine_if_any():
    """The container engine, or None where there is none (the qemu-user tier needs no engine)."""
    try:
        return engine.detect()
    except HarnessError:
        return None


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
    chosen = _engine_if_any()
    for ref, key in container_images.list_imported(chosen) if chosen else []:
        if everything or key not in current:
            doomed.append((Path(ref), "imported image"))
            print(f"{'would remove' if dry_run else 'removing'} {chosen.name} image {ref} "
                  f"({'--all' if everything else 'its root filesystem is outdated'})")
            if not dry_run:
                chosen.run("rmi", "--force", ref, check=False)
    if not doomed:
        print("nothing to prune")
    return 0


def make_report(args: argparse.Namespace, catalog: TargetCatalog) -> int:
    results = report.load(args.files, set(catalog.names))
    text = report.render(results, limit=args.max_chars, title=args.title)
    if args.output:
        args.output.write_text(text)
    else:
        sys.stdout.write(text)
    if args.github_step_summary:
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if not summary:
            raise ConfigError("--github-step-summary given but $GITHUB_STEP_SUMMARY is not set",
                              fix="use it inside a GitHub Actions step, or use --output")
        with open(summary, "a") as handle:
            handle.write(text + "\n")
    return 1 if results.failed else 0


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
        if args.command == "report":
            return make_report(args, catalog)
        if args.action == "key":
            print(rootfs.cache_key(catalog.get(args.arch)))
            return 0
        if args.action == "export":
            rootfs.export_entry(cache, catalog.get(args.arch), args.file)
            return 0
        if args.action == "import":
            print(rootfs.import_entry(cache, args.file).name)
            return 0
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
