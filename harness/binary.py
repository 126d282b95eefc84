"""The binary under test: a bare executable, a wheel, a release archive, or a version to download.

Whatever the form, it is unpacked on the host (cached by the file's sha256),
its ELF header is checked against the target, and it is installed into the
started target the way users install it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shlex
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from . import download
from .cache import Cache, sha256_file
from .elf import ElfInfo, check_runs_on, read_elf
from .errors import BinaryError
from .progress import Sink
from .runners.base import Runner
from .targets import Target

KIND = "binaries"
INSTALL_PREFIX = "/opt/archsmoke"
COMPLETE = "unpacked"  # written last in binaries/<sha256>/, naming the files unpacked there


@dataclass(frozen=True)
class BinaryUnderTest:
    """One unpacked uv for one target, ready to install."""

    kind: str  # "executable", "wheel" or "archive"
    origin: str  # what the user gave, for reports
    file: Path  # the file as given or downloaded
    sha256: str  # of that file
    executable: Path  # the uv binary itself, on the host
    elf: ElfInfo
    version: str | None  # known from a wheel's name or a download; None for a bare executable
    extra_executables: tuple[Path, ...] = ()  # uvx, beside uv in wheels and archives


@dataclass(frozen=True)
class InstalledBinary:
    binary: BinaryUnderTest
    path: str  # inside the target
    bin_dir: str
    env: dict[str, str] = field(default_factory=dict)

    def command(self, *args: str) -> str:
        return shlex.join([self.path, *args])


def _magic(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(4)
    except OSError as exc:
        raise BinaryError(f"cannot read {path}: {exc.strerror}", fix="check the path given to --binary") from None


def _unpack_dir(cache: Cache, sha: str) -> Path:
    directory = cache.entry(KIND, sha)
    directory.mkdir(exist_ok=True)
    return directory


def _extract_member(data: bytes, directory: Path, name: str) -> Path:
    path = directory / name
    if not path.exists() or path.read_bytes() != data:
        partial = directory / f".tmp-{os.getpid()}-{name}"
        partial.write_bytes(data)
        partial.chmod(0o755)
        os.replace(partial, path)
    return path


def _unpacked(cache: Cache, sha: str) -> tuple[Path, tuple[Path, ...]] | None:
    """A previous complete, verified unpacking of the file with this hash (uv first, then the rest)."""
    done = cache.entry(KIND, sha) / COMPLETE
    if not done.exists():
        return None
    paths = [cache.entry(KIND, sha) / name for name in done.read_text().split()]
    if not paths or not all(p.is_file() for p in paths):
        return None
    return paths[0], tuple(paths[1:])


def _mark_unpacked(paths: list[Path]) -> None:
    marker = paths[0].parent / COMPLETE
    partial = marker.with_name(f".tmp-{os.getpid()}-{COMPLETE}")
    partial.write_text("\n".join(p.name for p in paths) + "\n")
    os.replace(partial, marker)


def _from_wheel(path: Path, sha: str, cache: Cache) -> tuple[Path, tuple[Path, ...], str | None]:
    version = _wheel_version(path)
    if reused := _unpacked(cache, sha):
        return (*reused, version)
    try:
        with zipfile.ZipFile(path) as wheel:
            names = wheel.namelist()
            scripts = [n for n in names if PurePosixPath(n).parent.name == "scripts" and ".data/" in n]
            main = [n for n in scripts if PurePosixPath(n).name == "uv"]
            if not main:
                raise BinaryError(f"{path} is a zip file but holds no *.data/scripts/uv", fix="pass a uv wheel")
            record_name = next((n for n in names if n.endswith(".dist-info/RECORD")), None)
            record = wheel.read(record_name).decode() if record_name else ""
            hashes = dict(line.split(",")[:2] for line in record.splitlines() if line.count(",") >= 2)
            directory = _unpack_dir(cache, sha)
            extracted = []
            for name in main + [n for n in scripts if n not in main]:
                data = wheel.read(name)
                expected = hashes.get(name, "")
                actual = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                if expected and expected != actual:
                    raise BinaryError(f"{path} is corrupt: {name} does not match the hash in its RECORD",
                                      fix="download or build the wheel again")
                extracted.append(_extract_member(data, directory, PurePosixPath(name).name))
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as exc:
        raise BinaryError(f"{path} is not a valid wheel: {exc}", fix="download or build the wheel again") from None
    _mark_unpacked(extracted)
    return extracted[0], tuple(extracted[1:]), version


def _wheel_version(path: Path) -> str | None:
    parts = path.name.split("-")
    return parts[1] if path.name.endswith(".whl") and len(parts) >= 5 else None


def _from_archive(path: Path, sha: str, cache: Cache) -> tuple[Path, tuple[Path, ...], str | None]:
    if reused := _unpacked(cache, sha):
        return (*reused, None)
    try:
        with tarfile.open(path) as archive:
            members = [m for m in archive.getmembers() if m.isfile() and PurePosixPath(m.name).name in ("uv", "uvx")]
            if not any(PurePosixPath(m.name).name == "uv" for m in members):
                raise BinaryError(f"{path} is an archive without a uv executable in it",
                                  fix="pass uv's release archive uv-<triple>.tar.gz")
            directory = _unpack_dir(cache, sha)
            members.sort(key=lambda m: PurePosixPath(m.name).name != "uv")
            extracted = [
                _extract_member(archive.extractfile(m).read(), directory, PurePosixPath(m.name).name) for m in members
            ]
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BinaryError(f"{path} is not a readable .tar.gz archive: {exc}", fix="download the archive again") from None
    _mark_unpacked(extracted)
    return extracted[0], tuple(extracted[1:]), None


def prepare(path: Path, cache: Cache, origin: str | None = None, version: str | None = None) -> BinaryUnderTest:
    """Unpack and inspect a local file given as --binary (or downloaded)."""
    path = Path(path)
    if not path.is_file():
        raise BinaryError(f"{path} does not exist or is not a file", fix="check the path given to --binary")
    magic = _magic(path)
    sha = sha256_file(path)
    if magic == b"\x7fELF":
        kind, (executable, extras, named_version) = "executable", (path, (), None)
    elif magic.startswith(b"PK"):
        kind, (executable, extras, named_version) = "wheel", _from_wheel(path, sha, cache)
    elif magic.startswith(b"\x1f\x8b") or path.name.endswith((".tar.gz", ".tgz")):
        kind, (executable, extras, named_version) = "archive", _from_archive(path, sha, cache)
    else:
        raise BinaryError(
            f"{path} is neither an ELF executable, a wheel nor a .tar.gz archive (it starts with {magic!r})",
            fix="pass the uv executable, a uv-*.whl or a uv-<triple>.tar.gz",
        )
    return BinaryUnderTest(
        kind=kind,
        origin=origin or str(path),
        file=path,
        sha256=sha,
        executable=executable,
        elf=read_elf(executable),
        version=version or named_version,
        extra_executables=extras,
    )


def download_release(version: str, target: Target, cache: Cache, index_url: str | None = None,
                     sink: Sink | None = None) -> BinaryUnderTest:
    """uv's wheel for the target's platform; version 'latest' resolves to the newest release."""
    if version != "latest":
        for platform in target.wheel_platforms:
            for path in sorted((cache.root / download.KIND).glob(f"*/uv-{version}-*{platform}*.whl")):
                if download.find_cached(cache, path.name):
                    return prepare(path, cache, origin=f"uv {version} (cached wheel {path.name})", version=version)
    index = index_url or download.default_index_url()
    files = download.list_files(index, "uv")
    chosen = download.choose_file(files, version, target.wheel_platforms)
    path = download.fetch(cache, chosen, sink)
    resolved = str(chosen.version)
    return prepare(path, cache, origin=f"uv {resolved} ({chosen.filename} from {index})", version=resolved)


def runs_on(binary: BinaryUnderTest, target: Target) -> bool:
    try:
        check_runs_on(binary.elf, target)
    except BinaryError:
        return False
    return True


def matching(binaries: list[BinaryUnderTest], target: Target) -> BinaryUnderTest:
    """The one given binary that runs on the target; with one binary, its mismatch is the error."""
    if len(binaries) == 1:
        check_runs_on(binaries[0].elf, target)
        return binaries[0]
    for candidate in binaries:
        if runs_on(candidate, target):
            return candidate
    given = "; ".join(f"{b.origin}: {b.elf.describe()}" for b in binaries)
    raise BinaryError(f"none of the binaries given runs on {target.name} ({target.elf.describe()}): {given}",
                      fix=f"add --binary with the {target.name} build, or drop {target.name} from --arch")


def expected_triple(binary: BinaryUnderTest, target: Target) -> str:
    """The Rust target triple a build of this linkage for this target reports (static builds are musl)."""
    if binary.elf.libc == "glibc":
        return target.triple
    arch, vendor, system, abi = target.triple.split("-", 3)
    return "-".join((arch, vendor, system, abi.replace("gnu", "musl")))


def check_loader(binary: BinaryUnderTest, runner: Runner) -> None:
    target = runner.target
    loader = binary.elf.interpreter
    if loader and not runner.file_exists(loader):
        raise BinaryError(
            f"{binary.origin} needs the dynamic loader {loader}, which the {target.name} "
            f"{target.libc} root filesystem does not have ({binary.elf.libc} binary on a {target.libc} target)",
            fix=f"pass a {target.libc} or static build for {target.name}",
        )


def install(binary: BinaryUnderTest, runner: Runner) -> InstalledBinary:
    """Install into a started target: a wheel into a venv by the target's own pip, an executable onto PATH.

    A target without Python (the musl roots) gets a wheel's executables onto PATH instead.
    """
    target = runner.target
    check_runs_on(binary.elf, target)
    check_loader(binary, runner)
    budget = target.timeouts.install
    if binary.kind == "wheel" and runner.has_python:
        venv = f"{INSTALL_PREFIX}/venv"
        staged = f"/tmp/archsmoke-install/{binary.file.name}"
        runner.put(binary.file, staged, mode=0o644)
        runner.run(["python3", "-m", "venv", "--without-pip", venv], timeout=budget).check()
        runner.run(["python3", "-m", "pip", "--python", f"{venv}/bin/python", "install", "--no-index", "--no-deps",
                    "--disable-pip-version-check", "--no-warn-script-location", staged], timeout=budget).check()
        bin_dir = f"{venv}/bin"
    else:
        bin_dir = "/usr/local/bin"
        runner.put(binary.executable, f"{bin_dir}/uv", mode=0o755)
        for executable in binary.extra_executables:
            runner.put(executable, f"{bin_dir}/{executable.name}", mode=0o755)
    path = f"{bin_dir}/uv"
    env = {"PATH": f"{bin_dir}:{runner.environment()['PATH']}"}
    return InstalledBinary(binary=binary, path=path, bin_dir=bin_dir, env=env)
