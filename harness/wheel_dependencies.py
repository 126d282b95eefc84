"""A wheel's dependencies, as a user's `pip install` on the target pulls them: resolved on this host by pip for the
target's platforms and CPython (`pip download --platform ... --python-version ...`, wheels only, from the run's
index), then handed to the target's own pip as a directory of wheels (no target needs the network)."""

from __future__ import annotations

import email.parser
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from .binary.index import default_index_url
from .binary.unpack import BinaryUnderTest
from .errors import BinaryError, DownloadError, NoBinaryForTarget

_NO_MATCH = re.compile(r"No matching distribution found for (\S+)")
_LEVEL = re.compile(r"^(manylinux|musllinux)_(\d+)_(\d+)_(\w+)$")


def requirements(wheel: Path) -> list[str]:
    """The wheel's Requires-Dist entries that apply without an extra (pip installs those).

    The wheel is the untrusted build: pip on this host resolves what it declares, so a dependency by URL
    (`x @ file:///root/...`, `x @ https://...`) is refused: pip would copy that file from the host, or fetch it
    from wherever the build says, and hand it to the target.  Dependencies come from the index alone."""
    with zipfile.ZipFile(wheel) as archive:
        name = next((n for n in archive.namelist() if n.endswith(".dist-info/METADATA")), None)
        if name is None:
            return []
        metadata = email.parser.Parser().parsestr(archive.read(name).decode(errors="replace"))
    wanted = [r for r in metadata.get_all("Requires-Dist") or [] if "extra ==" not in r.replace("extra==", "extra ==")]
    for line in wanted:
        try:
            direct = Requirement(line).url
        except InvalidRequirement as exc:
            raise BinaryError(f"{wheel.name} declares a dependency pip cannot read ({line!r}: {exc})",
                              fix="fix the wheel's Requires-Dist") from None
        if direct:
            raise BinaryError(f"{wheel.name} declares a dependency by URL ({line!r}): archsmoke takes a build's "
                              "dependencies from the package index only",
                              fix="depend on releases on the index (PyPI refuses uploads with URL dependencies too)")
    return wanted


def pip_platforms(platforms: tuple[str, ...], newest: tuple[int, int] | None) -> list[str]:
    """Every platform tag the target's pip accepts, newest first: each family's levels from the target's own
    (its root's glibc; musl 1.2) down to the oldest, as pip on the target counts them (pip's --platform takes each
    tag literally)."""
    found: list[str] = []
    for platform in platforms:
        match = _LEVEL.match(platform)
        if match is None:
            found.append(platform)
            continue
        family, major, minor, arch = match[1], int(match[2]), int(match[3]), match[4]
        top = newest[1] if family == "manylinux" and newest and newest[0] == major else minor
        floor = 17 if family == "manylinux" else 0
        found += [f"{family}_{major}_{level}_{arch}" for level in range(max(top, minor), floor - 1, -1)]
    return list(dict.fromkeys(found))


def download(binary: BinaryUnderTest, target_name: str, platforms: list[str], python: tuple[int, int],
             dest: Path, index_url: str | None = None) -> list[Path]:
    """The dependency wheels of a wheel that declares some (`requirements`), for the target, into `dest` (the
    caller's, which it removes: pip puts the wheel itself there too)."""
    version = f"{python[0]}{python[1]}"
    command = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-input",
               "--only-binary=:all:", "--dest", str(dest), "--index-url", index_url or default_index_url(),
               "--implementation", "cp", "--python-version", version, "--abi", f"cp{version}", "--abi", "abi3",
               "--abi", "none", *(a for p in platforms for a in ("--platform", p)), str(binary.file)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        missing = _NO_MATCH.search(done.stderr)
        if missing:
            raise NoBinaryForTarget(f"{binary.origin} needs {missing[1]}, which has no build for {target_name} "
                                    f"(CPython {python[0]}.{python[1]}, {platforms[0]}): a dependency's gap, not "
                                    f"{binary.project or 'the build'}'s",
                                    fix="test it where its dependencies publish builds, or ask them to")
        raise DownloadError(f"resolving {binary.origin}'s dependencies for {target_name} failed: "
                           f"{done.stderr.strip()[-600:]}", fix="check the index is reachable (--index-url)")
    return [path for path in sorted(dest.iterdir()) if path.name != binary.file.name]
