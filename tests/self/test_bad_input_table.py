"""Bad input in one table: each case's exit code and the words its message must have; never a traceback,
never a pass.  Cases that need a file make it from `tmp_path` (and uv's real wheel where one is needed)."""

import re
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from archsmoke.binary import UV

SMOKE = str(Path(__file__).parents[1] / "smoke" / "uv")
VMS = Path(__file__).parents[2] / "vms"


def _elf(path: Path, machine: int) -> str:
    """A minimal 64-bit little-endian ELF header of the given machine (no program headers)."""
    header = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9) + struct.pack("<HHIQQQIHHHHHH", 2, machine, 1, 0, 64, 0, 0,
                                                                   64, 56, 0, 64, 0, 0)
    path.write_bytes(header)
    return str(path)


def _damaged_verneed(path: Path) -> str:
    """/bin/true whose .gnu.version_r section header says SHT_PROGBITS (pyelftools then has no iter_versions)."""
    from elftools.elf.elffile import ELFFile

    data = bytearray(Path("/bin/true").read_bytes())
    with open("/bin/true", "rb") as handle:
        elf = ELFFile(handle)
        index = next(i for i, s in enumerate(elf.iter_sections()) if s.name == ".gnu.version_r")
        offset = elf["e_shoff"] + index * elf["e_shentsize"] + 4
    data[offset:offset + 4] = struct.pack("<I", 1)
    path.write_bytes(data)
    return str(path)


def _sparse(path: Path, size: int) -> str:
    with open(path, "wb") as handle:
        handle.write(b"#!")
        handle.truncate(size)
    return str(path)


def _copy(source: str, path: Path) -> str:
    shutil.copy(source, path)
    return str(path)


def _text(path: Path) -> str:
    path.write_text("#!/bin/sh\necho uv 0.13.9\n")
    return str(path)


def _wheel_without_record_line(path: Path, release) -> str:
    """uv's wheel with its uv binary altered and the RECORD line for it removed."""
    original = release("ppc64le").file
    out = path / original.name
    with zipfile.ZipFile(original) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.endswith("/scripts/uv"):
                data = data[:-16] + b"\0" * 16
            if item.filename.endswith(".dist-info/RECORD"):
                data = b"\n".join(line for line in data.splitlines() if b"/scripts/uv," not in line)
            dst.writestr(item, data)
    return str(out)


def _targets(path: Path, edit=None, empty=False, raw: bytes = b"") -> str:
    directory = path / "vms"
    if empty:
        directory.mkdir()
        return str(directory)
    shutil.copytree(VMS, directory)
    target = directory / "ppc64le.yaml"
    if edit:
        target.write_text(edit(target.read_text()))
    if raw:
        target.write_bytes(target.read_bytes() + raw)
    return str(directory)


# (id, arguments (a function of tmp_path and release), expected exit code, words the message must have)
PYTEST_CASES = [
    ("empty-arch", lambda t, r: ["--arch", ""], 4, "names no target"),
    ("comma-arch", lambda t, r: ["--arch", ","], 4, "names no target"),
    ("unknown-arch", lambda t, r: ["--arch", "mips64"], 4, "unknown arch 'mips64'; known arches: aarch64"),
    ("release-not-a-version", lambda t, r: ["--arch", "x86_64", "--release", "abc"], 4,
     "'abc' is not a release version"),
    ("release-a-path", lambda t, r: ["--arch", "x86_64", "--release", "../../x"], 4, "is not a release version"),
    # A project that is no built-in product is what the no-code suite tests; beside the uv and ruff suites it
    # would be unused (a mistyped name), whichever spelling.
    ("release-unknown-product", lambda t, r: ["--arch", "x86_64", "--release", "nope=1.0"], 4,
     "--release nope=1.0 names nope: no built-in product, and not what these tests test"),
    ("release-pip-spelling-still-checked", lambda t, r: ["--arch", "x86_64", "--release", "nope==1.0"], 4,
     "--release nope=1.0 names nope: no built-in product, and not what these tests test"),
    ("release-twice", lambda t, r: ["--arch", "x86_64", "--release", "uv=1.0", "--release", "uv=2.0"], 4,
     "--release given twice for uv"),
    ("unknown-product", lambda t, r: ["--arch", "x86_64", "--product", "nope"], 4, "unknown product 'nope'"),
    ("index-url-without-scheme", lambda t, r: ["--arch", "x86_64", "--index-url", "pypi.org/simple"], 4,
     "--index-url 'pypi.org/simple' is not an http(s) URL"),
    ("index-url-file", lambda t, r: ["--arch", "x86_64", "--index-url", "file:///etc"], 4,
     "--index-url 'file:///etc' is not an http(s) URL"),
    ("npm-registry-ftp", lambda t, r: ["--arch", "x86_64", "--npm-registry", "ftp://127.0.0.1/npm"], 4,
     "--npm-registry 'ftp://127.0.0.1/npm' is not an http(s) URL"),
    ("unknown-runner", lambda t, r: ["--arch", "x86_64", "--runner", "lxd"], 4, "unknown runner 'lxd'"),
    ("unknown-runner-among-several", lambda t, r: ["--arch", "x86_64", "--runner", "qemu-user,lxd"], 4,
     "unknown runner 'lxd'"),
    ("unknown-cpu", lambda t, r: ["--arch", "aarch64", "--cpu", "bogus"], 4,
     "--cpu bogus: qemu-aarch64 knows no CPU model 'bogus'"),
    ("unknown-cpu-in-yaml", lambda t, r: ["--arch", "ppc64le", "--targets-dir", _targets(t, lambda y: y.replace(
        "cpu: power8  #", "cpu: power99  #"))], 4, "ppc64le.yaml's cpu: power99: qemu-ppc64le knows no CPU model"),
    ("empty-runner-among-several", lambda t, r: ["--arch", "x86_64", "--runner", "qemu-user,"], 4,
     "names an empty tier"),
    # A build of another product: every uv test skips, and a run that tested nothing must not pass.
    ("not-the-product", lambda t, r: ["--binary", _copy("/bin/true", t / "ruff")], 4,
     "nothing was tested: every test on a target was skipped (32 of them)"),
    ("unknown-engine", lambda t, r: ["--arch", "x86_64", "--runner", "container", "--engine", "lxc"], 4,
     "unknown container engine 'lxc'"),
    ("unknown-image-source", lambda t, r: ["--arch", "x86_64", "--runner", "container", "--image-source", "hub"],
     4, "unknown image source 'hub'"),
    ("engine-on-qemu-user", lambda t, r: ["--arch", "x86_64", "--engine", "podman"], 4,
     "--engine applies to the container tier only"),
    ("unknown-libc", lambda t, r: ["--arch", "x86_64", "--libc", "bionic"], 4, "unknown libc 'bionic'"),
    ("no-musl-target", lambda t, r: ["--arch", "i386", "--libc", "musl"], 4, "no musl target for i386"),
    ("missing-binary", lambda t, r: ["--binary", str(t / "nothing")], 4, "does not exist or is not a file"),
    # 10 GiB of holes, not a binary: refused by its first bytes, before anything reads the rest.
    ("huge-unknown-file", lambda t, r: ["--binary", _sparse(t / "uv", 10 << 30)], 4,
     "is none of an ELF executable, a wheel"),
    ("text-binary", lambda t, r: ["--binary", _text(t / "uv")], 4, "is none of an ELF executable, a wheel"),
    ("mips-binary-no-target", lambda t, r: ["--binary", _elf(t / "uv", 8)], 4,
     "no target runs the binaries given"),
    ("wrong-arch-binary", lambda t, r: ["--arch", "ppc64le", "--binary", _elf(t / "uv", 22)], 4,
     "target ppc64le runs PPC64 64-bit little-endian binaries"),
    ("no-build-for-the-arch", lambda t, r: ["--arch", "armv7", "--binary", str(r("s390x").file),
                                            "--binary", str(r("ppc64le").file)], 4,
     "none of the builds given runs on armv7"),
    ("binary-and-release", lambda t, r: ["--binary", str(r("ppc64le").file), "--release", "0.13.9"], 4,
     "--binary and --release VERSION both given"),
    ("damaged-version-section", lambda t, r: ["--binary", _damaged_verneed(t / "uv")], 4,
     "is a damaged ELF file (ELFError: its .gnu.version_r section has type SHT_PROGBITS"),
    ("wheel-without-record-line", lambda t, r: ["--binary", _wheel_without_record_line(t, r)], 4,
     "is not listed with a hash in its RECORD"),
    ("empty-targets-dir", lambda t, r: ["--targets-dir", _targets(t, empty=True)], 4, "no target definitions"),
    ("invalid-yaml", lambda t, r: ["--targets-dir", _targets(t, lambda y: y + "\n  - : [\n")], 4, "invalid YAML"),
    ("yaml-not-utf8", lambda t, r: ["--targets-dir", _targets(t, raw=b"\n# caf\xe9\n")], 4,
     "ppc64le.yaml: is not UTF-8 text (byte 0xe9"),
    ("yaml-alias-bomb", lambda t, r: ["--targets-dir", _targets(t, lambda y: y + "".join(
        f"l{i}: &l{i} [{', '.join([f'*l{i - 1}' if i else '1'] * 9)}]\n" for i in range(12)))], 4,
     "aliases (*name) are not allowed in target definitions"),
    ("timeout-nan", lambda t, r: ["--targets-dir", _targets(t, lambda y: y.replace("command: 120", "command: .nan"))],
     4, "field 'timeouts.command' must be a positive number up to 86400, got nan"),
    ("timeout-inf", lambda t, r: ["--targets-dir", _targets(t, lambda y: y.replace("start: 120", "start: .inf"))],
     4, "field 'timeouts.start' must be a positive number up to 86400, got inf"),
    ("duplicate-yaml-key", lambda t, r: ["--targets-dir", _targets(t, lambda y: y.replace(
        "cpu: power8  #", "cpu: power8\ncpu: power9  #"))], 4, "key 'cpu' is given twice (lines"),
    ("cache-dir-a-file", lambda t, r: ["--arch", "x86_64", "--cache-dir", _text(t / "file")], 4,
     "is not a directory"),
    ("stats-a-directory", lambda t, r: ["--arch", "x86_64", "--archsmoke-stats", str(t)], 4, "is a directory"),
    ("logs-a-file", lambda t, r: ["--arch", "x86_64", "--archsmoke-logs", _text(t / "logs")], 4,
     "is a file, not a directory"),
    ("stats-unwritable", lambda t, r: ["--arch", "x86_64", "--archsmoke-stats", "/proc/archsmoke-stats.json"], 4,
     "is not writable"),
    ("stats-missing-parent", lambda t, r: ["--arch", "x86_64", "--archsmoke-stats", str(t / "no" / "s.json")], 4,
     "does not exist"),
    ("ssh-host-without-arch", lambda t, r: ["--runner", "ssh", "--ssh-host", "ci@power9"], 4,
     "--ssh-host 'ci@power9' names no arch"),
    ("ssh-host-bad-port", lambda t, r: ["--runner", "ssh", "--arch", "ppc64le", "--ssh-host", "ppc64le=ci@power9:99999"],
     4, "'ci@power9:99999' is not [USER@]HOST[:PORT]"),
    ("ssh-host-unknown-arch", lambda t, r: ["--runner", "ssh", "--ssh-host", "mips=ci@mips"], 4, "mips"),
    ("ssh-host-arch-not-in-run", lambda t, r: ["--runner", "ssh", "--arch", "ppc64le", "--ssh-host", "ppc64le=a@b",
                                               "--ssh-host", "s390x=a@c"], 4, "s390x is not among this run's targets"),
    ("ssh-no-machine-for-an-arch", lambda t, r: ["--runner", "ssh", "--arch", "ppc64le,s390x", "--ssh-host",
                                                 "ppc64le=a@b"], 4, "the ssh tier has no machine for s390x"),
    ("ssh-two-machines-for-an-arch", lambda t, r: ["--runner", "ssh", "--arch", "ppc64le", "--ssh-host", "ppc64le=a@b",
                                                   "--ssh-host", "ppc64el=a@c"], 4, "two machines for"),
    ("cache-dir-too-long", lambda t, r: ["--arch", "x86_64", "--cache-dir", "/tmp/" + "a" * 5000], 4,
     "--cache-dir /tmp/aaaa"),
    ("cache-dir-a-file", lambda t, r: ["--arch", "x86_64", "--cache-dir", _write(t / "file", "x")], 4,
     "is not a directory"),
    ("cache-dir-from-the-environment-with-a-tilde-is-home", lambda t, r: ["--arch", "x86_64", "--cache-dir",
                                                                          "~/" + "b" * 300], 4,
     "characters) cannot be a directory here: File name too long"),
    ("vm-tier-for-a-target-without-one", lambda t, r: ["--runner", "vm", "--arch", "armv7"], 4,
     "armv7 on vm: armv7.yaml has no vm section"),
    ("ssh-options-without-the-tier", lambda t, r: ["--arch", "ppc64le", "--ssh-host", "ppc64le=a@b"], 4,
     "--ssh-host applies to the ssh tier only"),
    ("ssh-key-missing", lambda t, r: ["--runner", "ssh", "--arch", "ppc64le", "--ssh-host", "ppc64le=a@b",
                                      "--ssh-key", str(t / "no-key")], 4, "--ssh-key"),
    ("ssh-hosts-file-not-a-mapping", lambda t, r: ["--runner", "ssh", "--arch", "ppc64le", "--ssh-hosts",
                                                   _write(t / "hosts.yaml", "- a@b\n")], 4, "must map arches to machines"),
]


def _write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(("args", "code", "words"), [c[1:] for c in PYTEST_CASES], ids=[c[0] for c in PYTEST_CASES])
def test_pytest_refuses(pytester, cache, release, tmp_path, args, code, words):
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--cache-dir", str(cache.root),
                                           *args(tmp_path, release), SMOKE)
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output and " passed" not in output, output
    assert result.ret == code and words in output, output


def _junit(path: Path, body: str) -> str:
    path.write_text(body)
    return str(path)


CLI_CASES = [
    ("images-unknown-arch", lambda t: ["images", "build", "mips"], 2, "unknown arch 'mips'"),
    ("images-key-unknown-arch", lambda t: ["images", "key", "mips"], 2, "unknown arch 'mips'"),
    ("import-missing-file", lambda t: ["images", "import", str(t / "none.tar")], 2, "does not exist"),
    ("report-not-junit-xml", lambda t: ["report", _junit(t / "foo.xml", "<foo><bar/></foo>")], 2,
     "is not a readable JUnit XML file"),
    ("report-not-xml", lambda t: ["report", _junit(t / "foo.xml", "not xml")], 2, "is not a readable JUnit XML"),
    ("report-nothing-tested", lambda t: ["report", _junit(t / "empty.xml", '<testsuites><testsuite name="x" '
                                                          'tests="0"/></testsuites>')], 1, "nothing tested"),
    ("report-output-a-directory", lambda t: ["report", "--output", str(t), _junit(t / "x.xml", "<testsuites/>")], 2,
     "is a directory"),
    ("report-output-nowhere", lambda t: ["report", "--output", str(t / "no" / "r.md"),
                                         _junit(t / "x.xml", "<testsuites/>")], 2, "which is no directory"),
    ("cli-cache-dir-too-long", lambda t: ["--cache-dir", "/tmp/" + "a" * 5000, "images", "list"], 2,
     "File name too long"),
    ("report-negative-size", lambda t: ["report", "--max-chars", "-5", _junit(t / "x.xml", "<testsuites/>")], 2,
     "-5 is below the minimum 1000"),
]


@pytest.mark.parametrize(("args", "code", "words"), [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES])
def test_cli_refuses(tmp_path, args, code, words):
    result = subprocess.run([sys.executable, "-m", "archsmoke", *args(tmp_path)], capture_output=True, text=True,
                            timeout=120)
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.returncode == code and words in output, output


def test_a_cache_directory_with_a_tilde_is_in_home(monkeypatch):
    """A value from a YAML file or a quoted variable reaches archsmoke with its `~` unexpanded: it means home."""
    from archsmoke.cache import Cache

    monkeypatch.setenv("ARCHSMOKE_CACHE_DIR", "~/.cache/archsmoke-test")
    assert Cache().root == Path.home() / ".cache" / "archsmoke-test"
    assert Cache(Path("~/elsewhere")).root == Path.home() / "elsewhere"


def test_a_closed_pipe_is_not_an_error(cache):
    listing = subprocess.Popen([sys.executable, "-m", "archsmoke", "--cache-dir", str(cache.root), "images", "list"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    listing.stdout.close()  # like `| head` that has read enough
    err = listing.stderr.read().decode()
    assert listing.wait(timeout=60) == 0 and "Broken pipe" not in err and "Traceback" not in err, err


def _read_only(cache_root: Path, argv: list[str]) -> list[str]:
    """argv run with the cache read-only, in a private mount namespace (root ignores file modes)."""
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, str(cache_root), *argv]


def test_a_read_only_cache(pytester, cache, release, tmp_path):
    """Populated: it is used as it is.  Missing what a run needs: a clear message, not a traceback."""
    wheel = release("x86_64").file  # already unpacked in the cache by the release fixture
    version_test = str(Path(SMOKE) / "test_uv_version.py")
    base = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--cache-dir", str(cache.root),
            "--arch", "x86_64", version_test]
    used = pytester.run(*_read_only(cache.root, [*base, "--binary", str(wheel)]))
    assert used.ret == 0 and "1 passed" in used.stdout.str(), used.stdout.str() + used.stderr.str()
    archive = tmp_path / "uv-x86_64-unknown-linux-gnu.tar.gz"  # never seen: unpacking it needs a write
    subprocess.run(["tar", "-C", str(release("x86_64").main_for(UV).parent), "-czf", str(archive), "uv"], check=True)
    refused = pytester.run(*_read_only(cache.root, [*base, "--binary", str(archive)]))
    output = refused.stdout.str() + refused.stderr.str()
    assert refused.ret == 4 and "Traceback" not in output, output
    assert "Read-only file system" in output and "choose another with --cache-dir" in output, output


def test_a_truncated_wheel_served_without_a_hash_is_a_download_error(pytester, cache, release, loopback_index,
                                                                    tmp_path):
    wheel = release("x86_64").file
    truncated = tmp_path / "served" / wheel.name
    truncated.parent.mkdir()
    truncated.write_bytes(wheel.read_bytes()[: 1 << 20])
    loopback_index.publish([truncated])
    page = loopback_index.root / "simple" / "uv" / "index.html"
    page.write_text(re.sub(r"#sha256=[0-9a-f]{64}", "", page.read_text()))  # an index that publishes no hashes
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--cache-dir", str(tmp_path / "fresh"),
                                           "--index-url", loopback_index.url, "--arch", "x86_64",
                                           "--release", "0.13.9", str(Path(SMOKE) / "test_uv_version.py"))
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == 5 and "is unusable" in output and "Traceback" not in output, output


def test_an_intact_download_that_is_no_usable_build_blames_the_build_not_the_index(pytester, cache, loopback_index,
                                                                                   tmp_path):
    """Its sha256 matched the index's: trying again would not help, so it is bad input (exit 4), not a download
    error (exit 5)."""
    from toolwheels import make_wheel

    served = tmp_path / "served"
    served.mkdir()
    wheel = make_wheel(served, "uv", "0.13.9", {"uv": b"#!/bin/sh\necho uv 0.13.9\n"}, "manylinux_2_17_x86_64")
    loopback_index.publish([wheel])
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--cache-dir", str(tmp_path / "fresh"),
                                           "--index-url", loopback_index.url, "--arch", "x86_64",
                                           "--release", "0.13.9", str(Path(SMOKE) / "test_uv_version.py"))
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == 4 and "Traceback" not in output, output
    assert "arrived intact (its sha256 matched the index's), but it is not a uv build archsmoke can test" in output
    assert "is a wheel without native code" in output and "try again" not in output


@pytest.mark.parametrize("href, text, said", [
    ("file:///etc/hostname", "uv-0.13.9-py3-none-manylinux_2_17_x86_64.whl", "names 'file:///etc/hostname', which is "
                                                                            "not an http(s) URL"),
    ("ftp://127.0.0.1/uv.whl", "uv-0.13.9-py3-none-manylinux_2_17_x86_64.whl", "not an http(s) URL"),
    ("data:application/zip;base64,UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==", "uv-0.13.9-py3-none-manylinux_2_17_x86_64.whl",
     "not an http(s) URL"),
    ("../../x.whl", "../../uv-0.13.9-py3-none-manylinux_2_17_x86_64.whl", "which is not a plain file name"),
], ids=["file", "ftp", "data", "dot-dot-name"])
def test_an_index_page_linking_elsewhere_than_http_is_refused_naming_the_page(pytester, loopback_index, tmp_path, href,
                                                                               text, said, cache):
    """A hostile or broken index: its page names a file of this host, or a file name that climbs out of the cache."""
    page = loopback_index.root / "simple" / "uv" / "index.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(f'<html><body><a href="{href}">{text}</a></body></html>')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--cache-dir", str(_downloads_only(tmp_path, cache)),
                                           "--index-url", loopback_index.url, "--arch", "x86_64",
                                           "--release", "0.13.9", str(Path(SMOKE) / "test_uv_version.py"))
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == 5 and "Traceback" not in output, output
    assert f"the index page {loopback_index.url}/uv/ " in output and said in output, output
    assert not list((tmp_path / "fresh").rglob("hostname")), "a host file reached the cache"


def _downloads_only(tmp_path: Path, cache) -> Path:
    """A cache of its own for downloads, sharing the root filesystems (linked) so nothing is rebuilt."""
    own = tmp_path / "fresh"
    own.mkdir()
    (own / "rootfs").symlink_to(cache.root / "rootfs")
    return own


@pytest.mark.parametrize("dist, said", [
    ({"tarball": "file:///etc/hostname", "integrity": "sha512-AAAA"}, "names 'file:///etc/hostname', which is not an "
                                                                       "http(s) URL"),
    ("not a mapping", "has no tarball with an integrity"),
    ({"tarball": "http://127.0.0.1:9/-/tarballs/..", "integrity": "sha512-AAAA"}, "which is not a plain file name"),
], ids=["file", "dist-not-a-mapping", "dot-dot-name"])
def test_an_npm_document_naming_a_bad_tarball_is_refused(tmp_path, dist, said, cache):
    from npmregistry import NpmRegistry

    registry = NpmRegistry(tmp_path / "npm")
    registry.documents["@esbuild/linux-x64"] = {"name": "@esbuild/linux-x64", "dist-tags": ["not", "a", "mapping"],
                                                "versions": {"0.25.5": {"dist": dist}}}
    try:
        done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--pyargs", "archsmoke.generic",
                               "--product", "esbuild", "--release", "0.25.5", "--arch", "x86_64", "--npm-registry",
                               registry.url, "--cache-dir", str(_downloads_only(tmp_path, cache))],
                              cwd=tmp_path, capture_output=True, text=True, timeout=300)
    finally:
        registry.close()
    output = done.stdout + done.stderr
    assert done.returncode == 5 and "Traceback" not in output and "INTERNALERROR" not in output, output
    assert said in output, output
    assert not list((tmp_path / "fresh").rglob("hostname")), "a host file reached the cache"


def test_a_dead_docker_host_is_named_not_the_local_daemon(pytester, cache, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:1")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--cache-dir", str(cache.root), "--runner",
                                           "container", "--engine", "docker", "--arch", "ppc64le", SMOKE)
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output and " passed" not in output, output
    assert result.ret == 3 and "DOCKER_HOST=tcp://127.0.0.1:1" in output, output
    assert "start the docker daemon" not in output, output
