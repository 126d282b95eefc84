"""`--binary PATH` and `--binary=PATH` must mean the same run.

pytest chooses its rootdir and config file before it loads plugins, so at that moment it does not
know archsmoke's options: in `pytest --binary /abs/dir/uv` it takes `/abs/dir/uv` for a test path,
chooses a rootdir from it, and the project's pytest settings (testpaths, addopts, timeout) are never
read.  Once archsmoke is loaded it can tell: when writing its options as `--opt=VALUE` would have
chosen another rootdir or config file, the run starts again with exactly that spelling (from the
command line: the same process image, re-executed), or, in-process, stops with a clear usage error.
"""

from __future__ import annotations

import os
import sys

import pytest


def _joined(args: list[str], flags: set[str]) -> list[str]:
    joined, index = [], 0
    while index < len(args):
        arg = args[index]
        if arg in flags and index + 1 < len(args):
            joined.append(f"{arg}={args[index + 1]}")
            index += 2
        else:
            joined.append(arg)
            index += 1
    return joined


def _setup(config: pytest.Config, args: list[str]):
    from _pytest.config.findpaths import determine_setup

    namespace = config._parser.parse_known_args(args)
    rootpath, inipath, *_ = determine_setup(inifile=namespace.inifilename, override_ini=namespace.override_ini,
                                            args=namespace.file_or_dir, rootdir_cmd_arg=namespace.rootdir or None,
                                            invocation_dir=config.invocation_params.dir)
    return rootpath, inipath


def restart_with_joined_options(config: pytest.Config, args: list[str], flags: set[str]) -> None:
    """Called once archsmoke's options are known (pytest_load_initial_conftests)."""
    joined = _joined(list(config.invocation_params.args), flags)
    if joined == list(config.invocation_params.args):
        return
    try:
        wanted = _setup(config, joined)
    except Exception:  # noqa: BLE001 - pytest internals moved: keep pytest's own choice rather than fail
        return
    if wanted == (config.rootpath, config.inipath):
        return
    from_command_line = list(config.invocation_params.args) == sys.argv[1:]
    if from_command_line and os.environ.get("ARCHSMOKE_ARGV_RESTARTED") != "1":
        os.environ["ARCHSMOKE_ARGV_RESTARTED"] = "1"  # never loops
        capture = config.pluginmanager.getplugin("capturemanager")
        if capture is not None:
            capture.stop_global_capturing()  # give the new process the real stdout and stderr back
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, [sys.executable, "-m", "pytest", *joined])
    space = next(a for a in config.invocation_params.args if a in flags)
    raise pytest.UsageError(
        f"archsmoke: pytest took the value of {space} for a test path when it chose its rootdir "
        f"({config.rootpath}) and config file ({config.inipath or 'none'}), before archsmoke's options were known\n"
        f"  fix: write {space}=VALUE")
