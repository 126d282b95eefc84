"""The no-code suite for native code a runtime loads (see __init__.py): each test runs once per target and tier
for a build that ships extension modules, each module imported the way its users import it."""

from __future__ import annotations

import re
import shlex

import pytest

from archsmoke.signals import signal_name

from .answers import ALLOCATOR_ABORTS

# Python's words for a module that is not there: a dependency of the build, or a module of its own.
_NOT_FOUND = re.compile(r"ModuleNotFoundError: No module named '([^']+)'")


def _python(installed_binary) -> str:
    if not installed_binary.binary.modules:
        pytest.skip("the build ships no Python module (its executables are tested by test_every_executable)")
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
        output = result.stdout + result.stderr
        shown = f"`import {module}`"
        abort = ALLOCATOR_ABORTS.search(output)
        absent = _NOT_FOUND.search(output)
        if abort:
            found.append(f"{shown} printed an allocator's abort ({abort.group(0)!r})\n{result.report()}")
        elif result.timed_out:
            found.append(f"{shown} did not finish within its {result.timeout:.0f} s budget\n{result.report()}")
        elif result.exit_code < 0:
            found.append(f"{shown} was killed by {signal_name(-result.exit_code)}\n{result.report()}")
        elif result.exit_code != 0 and absent and absent.group(1).split(".")[0] not in own:
            missing.setdefault(absent.group(1), []).append(module)
        elif result.exit_code != 0:
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            found.append(f"{shown} failed (exit {result.exit_code}): {last}\n{result.report()}")
    if found:
        pytest.fail("\n".join(found), pytrace=False)
    if missing:
        needs = "; ".join(f"{dep} (for {', '.join(modules)})" for dep, modules in missing.items())
        pytest.skip(f"not imported: they need modules the build does not ship: {needs}; archsmoke installs the "
                    "build alone (--no-deps), not its dependencies")


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
