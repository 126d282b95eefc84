"""The qemu-user runner without root: user namespaces instead of chroot as root."""

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
from archsmoke.targets import TargetCatalog
target = TargetCatalog.load().get("s390x")
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


def test_runner_works_unprivileged(built, shared_tmp):
    tmp_path = shared_tmp
    python = shutil.which("python3", path="/usr/bin")
    check = subprocess.run([python, "-c", "import yaml"], capture_output=True)
    if check.returncode != 0:
        pytest.fail("the system python3 lacks PyYAML: install with the README command (python3-yaml)")
    source = built("s390x")
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
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", python, "-c", SCRIPT, str(cache)],
        cwd=code, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(code),
                       "TMPDIR": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["code"] == 0
    assert report["probe"] == ["0", "s390x", "written", "s390x"]  # root inside, the target's arch, writable
    assert report["hung"]
    assert not Path(f"/proc/{report['init']}").exists()
    assert not Path(report["session"]).exists()
    cached_motd = cache / "rootfs" / source.key / "root/etc/motd"
    assert not cached_motd.exists() or "written" not in cached_motd.read_text()  # writes went to the overlay
