"""`python -m archsmoke`: manage the image cache, merge reports, bisect releases, check the host."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .. import rootfs
from ..cache import Cache
from ..errors import ConfigError, HarnessError
from . import doctor
from ..signals import terminate_as_interrupt
from ..targets import TargetCatalog
from ..tiers import load_catalog
from . import bisect as bisect_command
from . import action as action_command
from . import junit, report
from .images import images_build, images_list, images_prune, images_verify


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m archsmoke", description=__doc__)
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
    verify = images.add_parser("verify", help="check ARCH's cached root filesystems (default: every target's); "
                                              "--deep also hashes every file's content")
    verify.add_argument("arches", nargs="*", metavar="ARCH")
    verify.add_argument("--deep", action="store_true",
                        help="compare every file's sha256 with the listing made when it was built")
    images.add_parser("key", help="print the cache key of ARCH's root filesystem (for CI caches)").add_argument("arch")
    export = images.add_parser("export", help="write ARCH's cached root filesystem to a tar file (for CI caches)")
    export.add_argument("arch")
    export.add_argument("file", type=Path)
    importing = images.add_parser("import", help="put a root filesystem exported with `images export` into the cache")
    importing.add_argument("file", type=Path)
    report = commands.add_parser("report", help="merge JUnit files into one Markdown report; exit 1 if anything failed "
                                                "(the report is written even when no file arrived)")
    report.add_argument("files", nargs="*", type=Path, metavar="JUNIT_XML_OR_DIR",
                        help="JUnit files, or directories searched for *.xml (a CI's downloaded artifacts)")
    report.add_argument("--expect", default="", metavar="LABELS",
                        help="comma-separated runs that must each have sent junit-LABEL.xml (a CI matrix's jobs): "
                             "the report names each one missing, and fails")
    report.add_argument("--run-url", help="link to the CI run, for readers of a report that lacks results")
    report.add_argument("--output", type=Path, help="write the report here instead of to stdout")
    report.add_argument("--github-step-summary", action="store_true",
                        help="also append it to the file named by $GITHUB_STEP_SUMMARY")
    report.add_argument("--max-chars", type=_at_least(1000), default=65_536,
                        help="size limit, at least 1000 (default: a GitHub comment's)")
    report.add_argument("--title", default="archsmoke report")
    bisect_command.add_parser(commands)
    action_command.add_parser(commands)
    check = commands.add_parser("doctor", help="check this host and print the fix for anything missing")
    check.add_argument("arches", nargs="*", metavar="ARCH", help="targets to check (default: all)")
    check.add_argument("--debian-mirror", help="Debian archive URL to check for")
    return parser


def make_report(args: argparse.Namespace, catalog: TargetCatalog) -> int:
    if args.output is not None and (args.output.is_dir() or not args.output.parent.is_dir()):
        what = "is a directory" if args.output.is_dir() else f"is in {args.output.parent}, which is no directory"
        raise ConfigError(f"--output {args.output} {what}", fix="name the file the report is written to")
    expected = [label for label in args.expect.replace(" ", ",").split(",") if label]
    results = junit.gathered(args.files, set(catalog.names), expected, args.run_url)
    text = report.render(results, limit=args.max_chars, title=args.title)
    if len(text) > args.max_chars:
        print(f"archsmoke: warning: the report is {len(text)} characters, over --max-chars {args.max_chars}",
              file=sys.stderr)
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
    return 1 if results.failed or results.nothing_tested else 0


def _at_least(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below the minimum {minimum}")
        return value

    return parse


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    terminate_as_interrupt()
    try:
        catalog = load_catalog(args.targets_dir)
        cache = Cache(args.cache_dir)
        if args.command == "doctor":
            targets = catalog.select(args.arches or ["all"])
            checks = doctor.run_checks(targets, cache, args.debian_mirror)
            print(doctor.render(checks))
            return 0 if all(c.ok for c in checks) else 3
        if args.command == "report":
            return make_report(args, catalog)
        if args.command == "bisect":
            return bisect_command.run(args, catalog, cache)
        if args.command == "action":
            return action_command.run(args, catalog)
        if args.action == "key":
            print(rootfs.cache_key(catalog.get(args.arch)))
            return 0
        if args.action == "export":
            rootfs.export_entry(cache, catalog.get(args.arch), args.file)
            return 0
        if args.action == "import":
            print(rootfs.import_entry(cache, args.file).name)
            print("archsmoke: checked against the manifest in the same file: damage is caught, tampering is not "
                  "(import only files from a cache you trust)", file=sys.stderr)
            return 0
        if args.action == "verify":
            return images_verify(cache, catalog, args.arches or ["all"], args.deep)
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
    except BrokenPipeError:  # `... | head` stopped reading: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # the host refused something the checks above did not foresee
        print(f"archsmoke: error: {exc.strerror or exc}: {exc.filename or ''}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("archsmoke: interrupted", file=sys.stderr)
        return 130
