"""The no-code suite (see __init__.py): each test runs once per target and tier, for each executable."""

from __future__ import annotations

import re

import pytest

from archsmoke.install import as_the_loader_sees_it
from archsmoke.binary.versions import names_release, printed_numbers

from .answers import Side, ask, differences, problems
from .reference import Reference, reference  # noqa: F401 - `reference` is a fixture


def _executables(installed_binary) -> tuple[str, ...]:
    names = installed_binary.binary.names_for(installed_binary.product)
    if not names:
        pytest.skip("the build ships no executable (its native libraries are tested by test_every_module)")
    return names


def _compared(reference: Reference, target, installed_binary) -> Reference | None:
    """The reference to compare with, None where there is none or this build is the reference itself."""
    if reference.build is None or reference.is_itself(installed_binary.binary, target.target):
        return None
    return reference


def _check_answers(target, installed_binary, reference: Reference, node, asked) -> None:
    compared = _compared(reference, target, installed_binary)
    # What pytest's record_property does, without its warning under junit_family xunit2 (pytest's default, which a
    # user's project keeps): the JUnit file carries user properties either way.
    node.user_properties.append(("archsmoke_reference", reference.describe() if compared or reference.build is None
                                 else "this build is the reference"))
    side = Side(target.where, target.target.debian_arch, installed_binary.install_dirs)
    found = []
    for name, args in asked:
        answer = ask(target, installed_binary, name, args)
        theirs = compared.answer(name, args) if compared else None
        # Without a reference, --version must exit 0 (nearly every tool does); --help's exit code is a convention
        # (several tools print usage and exit 1 or 2), so only its signal, abort and silence count.
        wrong = problems(answer, must_exit_zero=theirs is None and args == ("--version",))
        unlike = differences(theirs, compared.side, answer, side) if theirs is not None else []
        if wrong or unlike:
            found += [*wrong, *unlike, answer.report]
        if unlike:
            found.append(f"--- the reference build: {compared.describe()} ---\n{theirs.report}")
    if found:
        pytest.fail("\n".join(found), pytrace=False)


def test_every_executable_answers_its_version(target, installed_binary, reference, request):
    asked = [(name, ("--version",)) for name in _executables(installed_binary)]
    _check_answers(target, installed_binary, reference, request.node, asked)


def test_every_executable_answers_help(target, installed_binary, reference, request):
    """--help, and the commands the product declares (Product(compared=...)) on its main executable."""
    product = installed_binary.product
    asked = [(name, ("--help",)) for name in _executables(installed_binary)]
    _check_answers(target, installed_binary, reference, request.node,
                   asked + [(product.main, args) for args in product.compared])


# How each loader says a library is missing: glibc's trace ("libfoo.so.1 => not found") or its error, musl's.
MISSING_LIBRARY = re.compile(r"^\s*(\S+) => not found|error while loading shared libraries: ([^:\s]+)|"
                             r"Error loading shared library ([^:\s]+)", re.MULTILINE)


def _linked(target, installed_binary) -> list[tuple[str, str, str]]:
    """(what, loader, path in the target) of each executable and native library that needs shared libraries."""
    binary = installed_binary.binary
    listed = []
    if binary.elf.interpreter is not None and binary.executables:
        listed += [(name, binary.elf.interpreter, as_the_loader_sees_it(target, installed_binary.real_executable(name)))
                   for name in binary.names_for(installed_binary.product)]
    for (_, inside), elf in zip(binary.libraries, binary.library_elfs):
        if elf.needed and inside in installed_binary.libraries:
            listed.append((inside, target.target.loader, installed_binary.libraries[inside]))
    return listed


def test_the_dynamic_loader_finds_every_library(target, installed_binary):
    """The target's own loader lists the libraries of each executable and each native library (`LOADER --list`,
    glibc's and musl's alike; an environment variable would reach whatever wrapper a tier starts first)."""
    listed = _linked(target, installed_binary)
    if not listed:
        pytest.skip("a static build: it needs no shared library")
    for name, loader, path in listed:
        result = target.run([loader, "--list", path])
        missing = sorted({next(filter(None, m)) for m in MISSING_LIBRARY.findall(result.stdout + result.stderr)})
        assert not missing, (f"{name} needs {', '.join(missing)}, which the {target.target.name} target does not have"
                             f"\n{result.report()}")
        # musl's loader also binds a library's symbols when listing it, and those an extension module takes from
        # the interpreter that loads it are not there ("Error relocating ...: PyModule_Create2: symbol not found"):
        # for a library only a missing one counts; its import binds the rest.
        if path not in installed_binary.libraries.values():
            assert result.exit_code == 0, f"the loader could not list {name}'s libraries\n{result.report()}"


def test_it_reports_the_version_under_test(target, installed_binary, reference):
    """The version the main executable prints is the one under test: read with the product's pattern where it
    matches (uv, ruff, esbuild); otherwise the same release, as packages re-release upstream versions (`2.0.0.1`
    or `2.0.0.post1` of upstream 2.0.0, printed `2.0.0.build-7`).  The reference build's printed version, where
    there is one, is compared in full by test_every_executable_answers_its_version."""
    expected = installed_binary.binary.version
    if not installed_binary.binary.executables:
        pytest.skip("the build ships no executable to ask (test_it_is_the_release_under_test asks its metadata)")
    if expected is None:
        pytest.skip("a bare executable: the version under test is not known (a wheel's or release's is)")
    product = installed_binary.product
    said_there = reference.answer(product.main, product.version_args)
    if said_there is not None and not _prints_a_version(said_there):
        pytest.skip(f"the reference build ({reference.describe()}) prints no version for `{said_there.command}` "
                    f"({said_there.ending}): its answer is compared instead")
    result = target.run([installed_binary.path, *product.version_args], env=installed_binary.env)
    assert result.exit_code >= 0 and not result.timed_out, result.report()
    output = result.stdout if result.stdout.strip() else result.stderr
    parsed = product.parse_version(output)
    said = parsed.version if parsed else ", ".join(".".join(map(str, n)) for n in printed_numbers(output)) or \
        repr(output.strip()[:200])
    assert _names(product, result, expected), f"{product.main} reports {said}, but {expected} is under test\n" \
                                               f"{result.report()}"


def _prints_a_version(answer) -> bool:
    return answer.exit_code == 0 and bool(printed_numbers(answer.stdout or answer.stderr))


def _names(product, answer, expected: str) -> bool:
    """Whether a `--version` answer (a CommandResult or an Answer) says the release under test."""
    if answer.exit_code != 0:
        return False
    output = answer.stdout if answer.stdout.strip() else answer.stderr
    parsed = product.parse_version(output)
    return (parsed is not None and parsed.version == expected) or \
        names_release(parsed.version if parsed else output, expected) is not None
