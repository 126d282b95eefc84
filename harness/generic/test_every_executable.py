"""The no-code suite (see __init__.py): each test runs once per target and tier, for each executable."""

from __future__ import annotations

import re

import pytest

from archsmoke.binary.install import as_the_loader_sees_it

# What allocators and C libraries print when they give up: a build for the wrong page size (jemalloc's
# "Unsupported system page size"), heap corruption, or an allocation the target cannot serve.
ALLOCATOR_ABORTS = re.compile(
    r"<jemalloc>|Unsupported system page size|mimalloc: error|malloc\(\): |free\(\): |double free or corruption|"
    r"corrupted size vs\. prev_size|memory allocation of \d+ bytes failed|out of memory", re.IGNORECASE)


def _executables(installed_binary) -> list[str]:
    extras = [path.name for path in installed_binary.binary.extras_for(installed_binary.product)]
    return [installed_binary.product.main, *extras]


def _answers(target, installed_binary, name: str, flag: str):
    result = target.run([installed_binary.executable(name), flag], env=installed_binary.env)
    abort = ALLOCATOR_ABORTS.search(result.stderr)
    assert abort is None, f"`{name} {flag}` printed an allocator's abort ({abort.group(0)!r})\n{result.report()}"
    assert result.exit_code >= 0, f"`{name} {flag}` was killed by a signal\n{result.report()}"
    assert result.exit_code == 0 and (result.stdout or result.stderr).strip(), \
        f"`{name} {flag}` did not answer with exit 0 and some output\n{result.report()}"
    return result


def test_every_executable_answers_its_version(target, installed_binary):
    for name in _executables(installed_binary):
        _answers(target, installed_binary, name, "--version")


def test_every_executable_answers_help(target, installed_binary):
    for name in _executables(installed_binary):
        _answers(target, installed_binary, name, "--help")


# How each loader says a library is missing: glibc's trace ("libfoo.so.1 => not found") or its error, musl's.
MISSING_LIBRARY = re.compile(r"^\s*(\S+) => not found|error while loading shared libraries: ([^:\s]+)|"
                             r"Error loading shared library ([^:\s]+)", re.MULTILINE)


def test_the_dynamic_loader_finds_every_library(target, installed_binary):
    """The target's own loader lists each executable's libraries (`LOADER --list`, glibc's and musl's alike;
    an environment variable would reach whatever wrapper a tier starts first)."""
    elf = installed_binary.binary.elf
    if elf.interpreter is None:
        pytest.skip("a static build: it needs no shared library")
    for name in _executables(installed_binary):
        result = target.run([elf.interpreter, "--list", as_the_loader_sees_it(target, installed_binary.real_executable(name))])
        missing = sorted({next(filter(None, m)) for m in MISSING_LIBRARY.findall(result.stdout + result.stderr)})
        assert not missing, (f"{name} needs {', '.join(missing)}, which the {target.target.name} target does not have"
                             f"\n{result.report()}")
        assert result.exit_code == 0, f"the loader could not list {name}'s libraries\n{result.report()}"


def test_it_reports_the_version_under_test(target, installed_binary):
    """The version the main executable prints is the one under test: read with the product's pattern, or,
    for a tool whose output has another shape ("clang-format version 20.1.7 (...)"), found as a word in it."""
    expected = installed_binary.binary.version
    if expected is None:
        pytest.skip("a bare executable: the version under test is not known (a wheel's or release's is)")
    product = installed_binary.product
    result = target.run([installed_binary.path, *product.version_args], env=installed_binary.env).check()
    parsed = product.parse_version(result.stdout)
    said = parsed.version if parsed else result.stdout.strip().splitlines()[0] if result.stdout.strip() else ""
    found = parsed.version == expected if parsed else \
        re.search(rf"(?<![\w.]){re.escape(expected)}(?![\w.])", result.stdout) is not None
    assert found, f"{product.main} reports {said}, but {expected} is under test\n{result.report()}"
