"""The no-code suite for native code a runtime loads (see __init__.py): each test runs once per target and tier
for a build that ships extension modules or Node.js addons, each loaded the way its users load it."""

from __future__ import annotations

import re
import shlex

import pytest

from archsmoke.signals import signal_name

from .answers import ALLOCATOR_ABORTS

# Python's words for a module that is not there: a dependency of the build, or a module of its own.
_NOT_FOUND = re.compile(r"ModuleNotFoundError: No module named '([^']+)'")


def _judge(shown: str, result, own: set[str], found: list[str], missing: dict[str, list[str]],
           not_found: re.Pattern | None = None) -> None:
    """What is wrong with one load: an allocator's abort, its budget, a signal, a failure (the last line of its
    error); a module from outside the build goes to `missing`."""
    output = result.stdout + result.stderr
    abort = ALLOCATOR_ABORTS.search(output)
    absent = (not_found or _NOT_FOUND).search(output)
    if abort:
        found.append(f"{shown} printed an allocator's abort ({abort.group(0)!r})\n{result.report()}")
    elif result.timed_out:
        found.append(f"{shown} did not finish within its {result.timeout:.0f} s budget\n{result.report()}")
    elif result.exit_code < 0:
        found.append(f"{shown} was killed by {signal_name(-result.exit_code)}\n{result.report()}")
    elif result.exit_code != 0 and absent and absent.group(1).split(".")[0] not in own:
        missing.setdefault(absent.group(1), []).append(shown)
    elif result.exit_code != 0:
        errors = [line for line in result.stderr.strip().splitlines() if "Error" in line]
        last = (errors or result.stderr.strip().splitlines() or ["no output"])[-1].strip()
        found.append(f"{shown} failed (exit {result.exit_code}): {last}\n{result.report()}")


def _verdict(found: list[str], missing: dict[str, list[str]], why: str) -> None:
    if found:
        pytest.fail("\n".join(found), pytrace=False)
    if missing:
        needs = "; ".join(f"{dep} (for {', '.join(loads)})" for dep, loads in missing.items())
        pytest.skip(f"not loaded: they need modules the build does not ship: {needs}; {why}")


def _python(installed_binary) -> str:
    if installed_binary.node is not None:
        pytest.skip("an npm package: its addons are tested by test_every_addon_loads")
    if not installed_binary.binary.libraries or not installed_binary.binary.modules:
        # A tool's wheel (clang-format's) has a Python package too, but its users run the tool, not an import.
        pytest.skip("the build ships no native code Python loads (its executables are tested by "
                    "test_every_executable)")
    if installed_binary.python is None:
        pytest.skip("the target has no Python that loads the build's modules")
    return installed_binary.python


@pytest.mark.native_libraries
def test_every_module_imports(target, installed_binary):
    """Each top-level package and each extension module, imported in a process of its own, so a signal names
    the module that raised it: an instruction above the CPU floor in its init (SIGILL), an allocator built for
    other pages (its abort), a library the loader cannot find (ImportError naming it)."""
    python = _python(installed_binary)
    own = {name.split(".")[0] for name in installed_binary.binary.modules}
    found, missing = [], {}
    for module in installed_binary.binary.modules:
        result = target.run([python, "-c", f"import {module}"], env=installed_binary.env)
        _judge(f"`import {module}`", result, own, found, missing)
    _verdict(found, missing, "nor do its declared dependencies, which pip installed beside it (one the wheel "
                             "does not declare, or declares only under an extra)")


# Node's words for a package that is not installed: require('dep').
_NOT_FOUND_NODE = re.compile(r"Cannot find module '([^']+)'")


@pytest.mark.native_libraries
def test_every_addon_loads(target, installed_binary):
    """Each .node file with `require`, in a process of its own, then the package's entry point (what a user's
    `require('pkg')` or its CLI loads): a signal names the addon that raised it."""
    node, binary = installed_binary.node, installed_binary.binary
    if node is None:
        pytest.skip("the build is no npm package of addons (its modules are tested by test_every_module_imports)")
    found, missing = [], {}
    loads = [(f"`require('{inside.removeprefix('package/')}')`", path) for inside, path in
             installed_binary.libraries.items() if inside.endswith(".node")]
    loads += [(f"`require('{name}')`", installed_binary.package_dir) for name in binary.modules]
    for shown, path in loads:
        result = target.run([node, "-e", "require(process.argv[1])", path], env=installed_binary.env)
        _judge(shown, result, {binary.project or ""}, found, missing, _NOT_FOUND_NODE)
    _verdict(found, missing, "archsmoke installs the package alone, not its npm dependencies")


@pytest.mark.native_libraries
def test_it_is_the_release_under_test(target, installed_binary):
    """The distribution pip installed is the version under test, as its metadata says."""
    python = _python(installed_binary)
    binary = installed_binary.binary
    if binary.version is None or binary.project is None:
        pytest.skip("the build's project and version are not known")
    script = f"import importlib.metadata as m; print(m.version({binary.project!r}))"
    result = target.run([python, "-c", script], env=installed_binary.env)
    assert result.ok, f"`{shlex.join(['python', '-c', script])}` failed\n{result.report()}"
    assert result.stdout.strip() == binary.version, \
        f"the installed {binary.project} is {result.stdout.strip()}, but {binary.version} is under test"
