"""Targets without root: the qemu-user runner in user namespaces instead of chroot as root, and the container
tier on rootless podman, both as `nobody` (no subordinate uid range) with a cache it owns."""

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]
NOBODY = 65534

SCRIPT = """
import json, sys
from archsmoke.cache import Cache
from archsmoke.rootfs import RootfsBuilder
from archsmoke.tiers.qemu_user import QemuUserRunner
from archsmoke.tiers import load_catalog
target = load_catalog().get("s390x")
rootfs = RootfsBuilder(Cache(sys.argv[1])).ensure(target)
with QemuUserRunner(target, rootfs) as runner:
    assert runner.rootless
    probe = runner.run("id -u; uname -m; echo written > /etc/motd; cat /etc/motd; "
                       "python3 -c 'import platform; print(platform.machine())'")
    hung = runner.run("sleep 100", timeout=2)
    print(json.dumps({"probe": probe.stdout.split(), "code": probe.exit_code, "hung": hung.timed_out,
                      "init": runner._init_pid, "session": str(runner._session)}))
"""


@pytest.fixture
def shared_tmp():
    """pytest's tmp_path is private to root; the unprivileged user needs a directory it can reach."""
    with tempfile.TemporaryDirectory(prefix="archsmoke-rootless-") as directory:
        path = Path(directory)
        path.chmod(0o755)
        yield path


def _as_nobody(built, tmp_path: Path, arch: str, script: str, env: dict | None = None):
    """Run `script` with the system Python as nobody, on a copy of archsmoke and of arch's cached root it owns."""
    python = shutil.which("python3", path="/usr/bin")
    check = subprocess.run([python, "-c", "import yaml"], capture_output=True)
    if check.returncode != 0:
        pytest.fail("the system python3 lacks PyYAML: install with the README command (python3-yaml)")
    source = built(arch)
    # A cache and a copy of archsmoke that the unprivileged user owns or can read.
    cache = tmp_path / "cache"
    (cache / "rootfs").mkdir(parents=True)
    subprocess.run(["cp", "-a", str(source.path), str(cache / "rootfs" / source.key)], check=True)
    code = tmp_path / "src"
    # Laid out as installed: the package under its import name, its targets inside it.
    shutil.copytree(REPO / "harness", code / "archsmoke", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "vms", code / "archsmoke" / "vms")
    subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", str(tmp_path)], check=True)
    for parent in tmp_path.parents:
        if parent.stat().st_mode & 0o001 == 0:
            pytest.fail(f"{parent} is not traversable by other users; set TMPDIR to a directory that is")
    result = subprocess.run(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", python, "-c", script, str(cache)],
        cwd=code, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(code),
                       "TMPDIR": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1", **(env or {})},
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1]), cache / "rootfs" / source.key


def test_runner_works_unprivileged(built, shared_tmp):
    report, entry = _as_nobody(built, shared_tmp, "s390x", SCRIPT)
    assert report["code"] == 0
    assert report["probe"] == ["0", "s390x", "written", "s390x"]  # root inside, the target's arch, writable
    assert report["hung"]
    assert not Path(f"/proc/{report['init']}").exists()
    assert not Path(report["session"]).exists()
    cached_motd = entry / "root/etc/motd"
    assert not cached_motd.exists() or "written" not in cached_motd.read_text()  # writes went to the overlay


CONTAINER_SCRIPT = """
import json, sys
from archsmoke.cache import Cache
from archsmoke.host.engine import detect
from archsmoke.rootfs import RootfsBuilder
from archsmoke.tiers import load_catalog
from archsmoke.tiers import RunnerOptions
from archsmoke.tiers.container import ContainerRunner, ContainerSettings
cache = Cache(sys.argv[1])
target = load_catalog().get("s390x-musl")
rootfs = RootfsBuilder(cache).ensure(target)
engine = detect("podman")
with ContainerRunner(target, rootfs, RunnerOptions(cache=cache, settings=ContainerSettings(engine="podman"))) as runner:
    probe = runner.run("id -u; uname -m; stat -c %u /bin/busybox; echo written > /etc/motd; cat /etc/motd")
    name = runner.container
    rootless = engine.run("info", "--format", "{{.Host.Security.Rootless}}").stdout.decode().strip()
left = engine.run("ps", "--all", "--format", "{{.Names}}").stdout.decode().split()
print(json.dumps({"probe": probe.stdout.split(), "code": probe.exit_code, "rootless": rootless,
                  "left": [n for n in left if n == name]}))
"""


def test_the_container_tier_works_on_rootless_podman(built, shared_tmp):
    """As GitHub's runner user could use it: podman as an ordinary user, here one with no subordinate uids.

    archsmoke's image of a root the user owns has only uid 0 in it (the user's own files are root's in the
    image, as in the qemu-user tier's namespace), so one mapped uid is enough."""
    try:
        report, _ = _as_nobody(built, shared_tmp, "s390x-musl", CONTAINER_SCRIPT,
                               env={"XDG_RUNTIME_DIR": str(shared_tmp / "run")})
    finally:  # rootless podman keeps a pause process holding its user namespace: not this test's to leave
        subprocess.run(["pkill", "-u", str(NOBODY), "-x", "podman"], check=False)
    assert report["rootless"] == "true"
    assert report["code"] == 0 and report["probe"] == ["0", "s390x", "0", "written"]
    assert report["left"] == []
