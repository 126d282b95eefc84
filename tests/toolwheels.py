"""Wheels of small programs built by the tests, laid out as real ones (RECORD hashes, executable modes)."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path


def record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_wheel(directory: Path, name: str, version: str, scripts: dict[str, bytes], platform: str,
               package_files: dict[str, bytes] | None = None, console_scripts: dict[str, str] | None = None) -> Path:
    """NAME-VERSION-py3-none-PLATFORM.whl with `scripts` under NAME-VERSION.data/scripts/ and `package_files`
    (paths in site-packages; those under a bin/ directory executable) as package data; `console_scripts`
    ({command: "module:function"}) become launchers pip writes."""
    path = directory / f"{name}-{version}-py3-none-{platform}.whl"
    files = {f"{name}-{version}.data/scripts/{script}": data for script, data in scripts.items()}
    files.update(package_files or {})
    if console_scripts:
        files[f"{name}-{version}.dist-info/entry_points.txt"] = ("[console_scripts]\n" + "".join(
            f"{command} = {target}\n" for command, target in console_scripts.items())).encode()
    files[f"{name}-{version}.dist-info/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    files[f"{name}-{version}.dist-info/WHEEL"] = (f"Wheel-Version: 1.0\nGenerator: archsmoke-tests\n"
                                                  f"Root-Is-Purelib: false\nTag: py3-none-{platform}\n").encode()
    record = "".join(f"{member},{record_hash(data)},{len(data)}\n" for member, data in files.items())
    record += f"{name}-{version}.dist-info/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in files.items():
            info = zipfile.ZipInfo(member)
            # A regular file and its mode: pip makes scripts executable only when both are there.
            executable = "/scripts/" in member or "/bin/" in member
            info.external_attr = (0o100755 if executable else 0o100644) << 16
            archive.writestr(info, data)
        archive.writestr(f"{name}-{version}.dist-info/RECORD", record)
    return path
