"""Every host tool that archsmoke and its tests run comes from a package ./bootstrap installs.

A fresh Debian 12 has only its required packages and what bootstrap installs: a tool a developer's
machine happened to have (cpio, once) fails CI there.  This reads the tools out of the code (host_tool,
find_tool, shutil.which, the first word of a subprocess argv, the cross compilers the tests name), finds
the package that ships each one on this machine, and requires it in bootstrap's list or among Debian's
required packages.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [*sorted((ROOT / "harness").rglob("*.py")), *sorted((ROOT / "tests").rglob("*.py")),
           *sorted((ROOT / "bench").rglob("*.py"))]
_NAME = r"([a-z0-9][a-z0-9_.+-]*)"
PATTERNS = [rf'host_tool\("{_NAME}"', rf'find_tool\("{_NAME}"', rf'shutil\.which\("{_NAME}"',
            rf'subprocess\.(?:run|Popen|check_output|check_call)\(\s*\[\s*"{_NAME}"', r'"([a-z0-9_]+-linux-gnu-gcc)"',
            r'\("(gcc|cc|clang)",']
# (tool, package) pairs the harness hands to host_tool in a loop: ("nsenter", "util-linux")
HARNESS_PATTERNS = [rf'\("{_NAME}", "(?:util-linux|coreutils|e2fsprogs|mmdebstrap|cpio|podman|docker\.io)"\)']
VENV = Path(sys.executable).parent


def tools_the_code_runs() -> dict[str, str]:
    """{tool: the first file that runs it}."""
    found: dict[str, str] = {}
    for path in SOURCES:
        text = path.read_text()
        for pattern in PATTERNS + (HARNESS_PATTERNS if "harness" in path.parts else []):
            for name in re.findall(pattern, text):
                found.setdefault(name, str(path.relative_to(ROOT)))
    return found


def bootstrap_packages() -> set[str]:
    text = (ROOT / "bootstrap").read_text()
    match = re.search(r'^PACKAGES="([^"]+)"', text, re.MULTILINE)
    assert match, "bootstrap lists its packages in PACKAGES=\"...\""
    # and adds some where the host lacks what they provide: PACKAGES="$PACKAGES runc"
    added = re.findall(r'PACKAGES="\$PACKAGES ([^"]+)"', text)
    return set(match.group(1).split()) | {name for names in added for name in names.split()}


def _package_of(path: str) -> str | None:
    # Merged /usr: dpkg may know /bin/true as /bin/true, not /usr/bin/true.
    unmerged = re.sub(r"^/usr/(s?bin)/", r"/\1/", path)
    for candidate in dict.fromkeys((path, unmerged, str(Path(path).resolve()))):
        result = subprocess.run(["dpkg-query", "-S", candidate], capture_output=True, text=True)
        if result.returncode == 0:
            return result.stdout.split(":", 1)[0].split(",")[0].strip()
    return None


def _required(package: str) -> bool:
    result = subprocess.run(["dpkg-query", "-W", "-f", "${Priority} ${Essential}", package], capture_output=True,
                            text=True)
    return result.stdout.startswith("required") or result.stdout.endswith("yes")


def test_the_scan_finds_the_tools_it_must():
    tools = tools_the_code_runs()
    for expected in ("mmdebstrap", "cpio", "mount", "aarch64-linux-gnu-gcc", "gcc", "mke2fs", "unshare"):
        assert expected in tools, sorted(tools)


@pytest.mark.parametrize("tool", sorted(tools_the_code_runs()))
def test_each_tool_comes_from_bootstrap_or_a_required_package(tool):
    where = tools_the_code_runs()[tool]
    if (VENV / tool).exists() or tool in ("python3", sys.executable):
        return  # installed into the venv by bootstrap's `pip install -e .[test]`
    if tool.startswith("qemu-") and tool.endswith("-static") or tool.startswith("qemu-system-"):
        pytest.skip("named per target; doctor checks each one and names its package")
    path = shutil.which(tool, path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    assert path, f"{where} runs {tool}, which is not installed here: add its package to bootstrap"
    if path.startswith("/usr/local/"):
        pytest.skip(f"{path} is not from a Debian package (this machine's own)")
    package = _package_of(path)
    assert package, f"{where} runs {tool} ({path}), which no Debian package ships"
    assert package in bootstrap_packages() or _required(package), \
        f"{where} runs {tool} from the package {package}, which bootstrap does not install and Debian does not require"
