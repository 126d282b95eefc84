"""The container tier against real podman and real docker, real images made from real root filesystems, a real
registry.  Every test that does not name its engine runs on both."""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from hanging_run import interrupt_hanging_run, processes_naming
from archsmoke.host import engine as engines
from archsmoke.tiers.container import archive, images
from archsmoke.errors import ConfigError, HostSetupError, TargetError
from archsmoke.rootfs import tree_digest
from archsmoke.tiers import RunnerOptions
from archsmoke.tiers.container import ContainerRunner, ContainerSettings
from archsmoke.tiers.container.runner import OWNER_LABEL, remove_orphans
from archsmoke.targets import TargetCatalog, load_target
from archsmoke.tiers import sections

UV_VERSION = "0.13.9"  # as tests/conftest.py pins it


@pytest.fixture(scope="module", params=engines.ENGINES)
def engine(request):
    """Each engine in turn: ./bootstrap installs both and starts a docker daemon where none answers."""
    found = engines.survey()[request.param]
    if isinstance(found, str):
        pytest.fail(f"{request.param}: {found}; run ./bootstrap (it installs both engines and starts dockerd)")
    return found


@pytest.fixture(scope="module")
def podman():
    return engines.detect("podman")


def _options(cache, engine, **kwargs) -> RunnerOptions:
    return RunnerOptions(cache=cache, settings=ContainerSettings(engine=engine.name, **kwargs))


def _pinned(engine, **kwargs) -> RunnerOptions:
    return RunnerOptions(settings=ContainerSettings(engine=engine.name, image_source="pinned"), **kwargs)


def _exists(engine, name: str) -> bool:
    return engine.run("container", "inspect", name, check=False).returncode == 0


def _wait_gone(engine, name: str, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while _exists(engine, name) and time.monotonic() < deadline:
        time.sleep(0.2)
    return not _exists(engine, name)


@pytest.fixture(scope="module", params=["ppc64le", "s390x"])
def started(request, built, catalog, cache, engine):
    target = catalog.get(request.param)
    with ContainerRunner(target, built(request.param), _options(cache, engine)) as runner:
        yield runner


# --- the engine and this host ----------------------------------------------------------------


def test_podman_adapts_to_this_hosts_limits_and_cgroups(podman):
    engine = podman
    assert engine.name == "podman" and engine.version
    for name in ("nofile", "nproc"):
        limit = engines.hard_limit(name)
        wanted = f"{name}={limit}:{limit}"
        assert (wanted in engine.run_flags) == (limit is not None and limit < engines.PODMAN_DEFAULT_LIMITS[name])
    if engines.cgroup_mode() != "unified":
        assert engine.global_flags[engine.global_flags.index("--runtime") + 1] == "runc"
    assert all(choice.reason for choice in engine.choices)


def test_without_those_flags_this_host_refuses_containers(podman, built, cache, catalog):
    """The adaptations are needed, not decoration: podman's defaults fail here (when the limits are low)."""
    engine = podman
    if not any(c.flags[0] == "--ulimit" for c in engine.choices):
        pytest.skip("this host's hard limits are at podman's defaults; nothing to adapt")
    image = images.from_rootfs(engine, built("s390x-musl"), cache)
    plain = subprocess.run([engine.path, *engine.global_flags, "run", "--rm", image.ref, "/bin/true"],
                           capture_output=True, text=True)
    assert plain.returncode != 0 and "rlimit" in plain.stderr
    adapted = engine.run("run", "--rm", *engine.run_flags, image.ref, "/bin/true", check=False)
    assert adapted.returncode == 0, adapted.stderr


def test_docker_with_no_daemon_answering_is_a_clear_error(monkeypatch, tmp_path, built, catalog, cache):
    """The docker client alone (as on many machines) is not an engine: exit 3, and the fix is named."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-daemon.sock")
    with pytest.raises(HostSetupError) as caught:
        engines.detect("docker")
    assert caught.value.exit_code == 3
    assert "docker: " in str(caught.value) and "is installed but no engine answers" in str(caught.value)
    # The daemon DOCKER_HOST names is what does not answer: the fix says so, not "start the docker daemon".
    assert f"DOCKER_HOST=unix://{tmp_path}/no-daemon.sock" in caught.value.fix, caught.value.fix
    monkeypatch.delenv("DOCKER_HOST")
    local = engines.fix_for({"docker": "/usr/bin/docker is installed but no engine answers (...)"})
    assert "start the docker daemon" in local and "sudo dockerd" in local
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-daemon.sock")
    built("s390x-musl")
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(PINNED_SUITE),
                          "--arch", "s390x-musl", "--runner", "container", "--engine", "docker",
                          "--cache-dir", str(cache.root), "--release", UV_VERSION],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 3, run.stdout[-2000:] + run.stderr[-2000:]
    assert "no engine answers" in run.stdout + run.stderr and "DOCKER_HOST=" in run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr


def test_doctor_reports_each_engine_its_version_and_whether_it_answers(tmp_path):
    def doctor(**env):
        done = subprocess.run([sys.executable, "-m", "archsmoke", "doctor", "s390x-musl"], capture_output=True,
                              text=True, env={**os.environ, **env}, timeout=300)
        return {line.split(":", 1)[0].strip(): line for line in done.stdout.splitlines()}

    lines = doctor()
    for name in engines.ENGINES:
        found = engines.detect(name)
        assert f"{found.version} at {found.path}" in lines[f"ok      {name}"]
    assert "the default engine" in lines["ok      podman"] and "its daemon answers" in lines["ok      docker"]
    lines = doctor(DOCKER_HOST=f"unix://{tmp_path}/no-daemon.sock")
    assert "not usable here" in lines["ok      docker"] and "no engine answers" in lines["ok      docker"]


def test_an_unknown_or_absent_engine_is_a_clear_error(monkeypatch):
    with pytest.raises(ConfigError, match="unknown container engine 'lxc'"):
        engines.detect("lxc")
    # The docker client may be installed with no engine behind it: that must not count as docker.
    if __import__("shutil").which("docker"):
        answered = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True)
        if answered.returncode != 0:
            with pytest.raises(HostSetupError, match="docker: .* is installed but no engine answers"):
                engines.detect("docker")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(HostSetupError, match="podman: not installed; docker: not installed"):
        engines.detect()


# --- a started container -----------------------------------------------------------------------


def test_runs_the_target_architecture_in_a_container(started, engine):
    assert started.run(["uname", "-m"]).check().stdout.strip() == started.target.name
    assert started.run("echo $QEMU_CPU").stdout.strip() == started.target.cpu
    assert _exists(engine, started.container)
    inspected = engine.run("inspect", "--format", "{{.Config.Image}}", started.container).stdout.decode().strip()
    assert inspected == images.imported_ref(started.rootfs)




# Sizes whose copy failed with podman 4.3 ("io: read/write on closed pipe") while tar record padding
# followed the end-of-archive blocks; 18085314 is uv 0.13.9's riscv64 wheel.
@pytest.mark.parametrize("size", [18_085_314, 17_000_000, 25_000_000])
def test_large_files_arrive_whole_whatever_their_size(started, tmp_path, size):
    source = tmp_path / "large.bin"
    source.write_bytes(os.urandom(size))
    started.put(source, "/tmp/archsmoke-large/large.bin")
    assert started.run("stat -c %s /tmp/archsmoke-large/large.bin").stdout.strip() == str(size)
    started.get("/tmp/archsmoke-large/large.bin", tmp_path / "back.bin")
    assert (tmp_path / "back.bin").read_bytes() == source.read_bytes()



def test_writes_never_reach_the_image_or_the_cache(started):
    before = tree_digest(started.rootfs.root)
    started.run("echo x > /etc/archsmoke-was-here && rm /usr/bin/env").check()
    assert not (started.rootfs.root / "etc/archsmoke-was-here").exists()
    assert tree_digest(started.rootfs.root) == before


def test_testinfra_uses_the_engines_own_backend(started, engine):
    import testinfra

    host = testinfra.get_host(started.testinfra_url)
    assert host.backend.NAME == engine.name
    passwd = host.file("/etc/passwd")
    assert passwd.contains("^root:.*:0:0:") and passwd.user == "root" and passwd.mode == 0o644
    # Commands through testinfra's backend get the container's environment: the same emulated CPU floor.
    assert host.run("uname -m").stdout.strip() == started.target.name
    assert host.check_output("echo $QEMU_CPU") == started.target.cpu


def test_stop_removes_the_container(built, catalog, cache, engine):
    runner = ContainerRunner(catalog.get("armv7-musl"), built("armv7-musl"), _options(cache, engine))
    runner.start()
    runner.run("sleep 1000 & echo started").check()
    assert _exists(engine, runner.container)
    runner.stop()
    assert _wait_gone(engine, runner.container)


def test_i386_runs_with_a_32_bit_personality(built, catalog, cache, engine):
    """What real i386 machines say, on either engine (docker's daemon starts each command: the personality is
    set in the container), through the runner and the testinfra host the tests get."""
    from archsmoke.plugin.testinfra_backend import host_for

    with ContainerRunner(catalog.get("i386"), built("i386"), _options(cache, engine)) as runner:
        assert runner.run(["uname", "-m"]).check().stdout.strip() == "i686"
        assert runner.run("python3 -c 'import platform; print(platform.machine())'").check().stdout.strip() == "i686"
        assert runner.testinfra_url is None  # testinfra's own backends would not set it
        assert host_for(runner).check_output("uname -m") == "i686"
        missing = runner.run(["archsmoke-no-such-command"])
        assert missing.exit_code == 127 and "archsmoke-no-such-command" in missing.stderr
        assert runner.run("kill -ILL $$").exit_code == -4


def _import_tree(engine, root: Path, arch: str, ref: str, labels: dict[str, str] | None = None) -> None:
    """A tree loaded by hand, with whatever platform and labels a test needs (not through archsmoke's cache)."""
    archive.load_tree(engine, root, ref, (arch, None), labels or {}, Path(tempfile.gettempdir()), 600)


# --- images from root filesystems --------------------------------------------------------------


# Imports under a repository of the test's own: removing archsmoke's shared image of a tree would remove the
# containers that other tests (other xdist workers, CI's container steps) run from it at the same time.
PRIVATE = f"localhost/archsmoke-test/imported-{os.getpid()}"


def test_an_image_is_imported_once_per_tree(engine, built, cache):
    rootfs = built("aarch64-musl")
    engine.run("rmi", "--force", images.imported_ref(rootfs, PRIVATE), check=False)
    said = []
    try:
        first = images.from_rootfs(engine, rootfs, cache, said.append, repository=PRIVATE)
        assert any("importing root filesystem" in line for line in said)
        said.clear()
        second = images.from_rootfs(engine, rootfs, cache, said.append, repository=PRIVATE)
        assert first == second and not said
        details = images.inspect(engine, first.ref)
        assert images.labels(details)[images.TREE_LABEL] == rootfs.manifest["tree_digest"]
        assert details["Architecture"] == "arm64"
    finally:
        engine.run("rmi", "--force", images.imported_ref(rootfs, PRIVATE), check=False)


def test_an_image_of_another_tree_under_the_same_tag_is_replaced(engine, built, cache):
    rootfs = built("s390x-musl")
    ref = images.imported_ref(rootfs, PRIVATE)
    # The same tag on an image of a different tree (a stale or foreign import): never reused.
    engine.run("rmi", "--force", ref, check=False)
    try:
        _import_tree(engine, built("ppc64le-musl").root, "s390x", ref, {images.TREE_LABEL: "not-this-tree"})
        said = []
        images.from_rootfs(engine, rootfs, cache, said.append, repository=PRIVATE)
        assert any("importing" in line for line in said)
        assert images.labels(images.inspect(engine, ref))[images.TREE_LABEL] == rootfs.manifest["tree_digest"]
    finally:
        engine.run("rmi", "--force", ref, check=False)


def test_an_image_for_another_platform_is_refused(engine, built, catalog):
    ref = "localhost/archsmoke-test/wrong-platform:1"
    _import_tree(engine, built("ppc64le-musl").root, "amd64", ref)
    try:
        with pytest.raises(ConfigError, match=re.escape(
                f"image {ref} is for linux/amd64, but target ppc64le-musl is linux/ppc64le")):
            images.check_platform(images.inspect(engine, ref), catalog.get("ppc64le-musl"), ref)
    finally:
        engine.run("rmi", "--force", ref, check=False)


# --- pinned images pulled by digest from a real registry -----------------------------------------


def _catalog_pinning(tmp_path: Path, arch: str, ref: str, python: bool) -> TargetCatalog:
    source = Path(__file__).resolve().parents[2] / "vms" / f"{arch}.yaml"
    data = yaml.safe_load(source.read_text())
    data["image"] = {"ref": ref, "python": python}
    directory = tmp_path / "vms"
    directory.mkdir(exist_ok=True)
    (directory / f"{arch}.yaml").write_text(yaml.safe_dump(data))
    return TargetCatalog([load_target(directory / f"{arch}.yaml", sections())])


def _publish(engine, registry, rootfs, cache, name: str, arch: str | None = None) -> str:
    """A root filesystem as an image in the registry (optionally mislabelled), no copy of that name left here."""
    local = f"localhost/archsmoke-test/{name}:1"
    _import_tree(engine, rootfs.root, arch or rootfs.target.oci_platform[0], local)
    pinned = registry.push(engine, local, f"archsmoke-test/{name}")
    engine.run("rmi", "--force", local, check=False)
    return pinned


def test_a_pinned_image_is_pulled_by_digest_and_checked(engine, registry, built, cache, tmp_path):
    ref = _publish(engine, registry, built("ppc64le-musl"), cache, "musl-ppc64le")
    engine.run("rmi", "--force", ref, check=False)
    target = _catalog_pinning(tmp_path, "ppc64le-musl", ref, python=False).get("ppc64le-musl")
    said = []
    with ContainerRunner(target, None, _pinned(engine, sink=said.append)) as runner:
        assert runner.root_description == f"image {ref}"
        assert runner.run(["uname", "-m"]).check().stdout.strip() == "ppc64le"
        assert runner.file_exists("/lib/ld-musl-powerpc64le.so.1") and not runner.file_exists("/lib64/ld64.so.2")
        assert not runner.has_python
    assert any(f"pulling {ref}" in line for line in said)
    digest = ref.rsplit("@", 1)[1]
    assert re.search(rf'"GET /v2/archsmoke-test/musl-ppc64le/manifests/{digest} HTTP', registry.requests())


def test_a_pinned_image_for_another_platform_is_refused_before_it_runs(engine, registry, built, cache, tmp_path):
    ref = _publish(engine, registry, built("s390x-musl"), cache, "musl-s390x")
    target = _catalog_pinning(tmp_path, "ppc64le-musl", ref, python=False).get("ppc64le-musl")
    runner = ContainerRunner(target, None, _pinned(engine))
    with pytest.raises(ConfigError, match="is for linux/s390x, but target ppc64le-musl is linux/ppc64le"):
        runner.start()
    assert not [name for name in engine.labelled(OWNER_LABEL) if name.startswith("archsmoke-ppc64le-musl-")]


def test_a_mislabelled_image_is_caught_by_what_it_runs_as(engine, registry, built, cache, tmp_path):
    """Labelled ppc64le, but its files are s390x: uname in the container tells, and nothing is tested in it."""
    ref = _publish(engine, registry, built("s390x-musl"), cache, "mislabelled", arch="ppc64le")
    target = _catalog_pinning(tmp_path, "ppc64le-musl", ref, python=False).get("ppc64le-musl")
    runner = ContainerRunner(target, None, _pinned(engine))
    with pytest.raises(TargetError, match="runs as s390x in a container for ppc64le-musl, which must run as ppc64le"):
        runner.start()
    assert _wait_gone(engine, runner.container)


def test_an_unreachable_registry_is_a_clear_error(engine, tmp_path):
    ref = "127.0.0.1:9/archsmoke-test/nothing@sha256:" + "0" * 64
    target = _catalog_pinning(tmp_path, "s390x-musl", ref, python=False).get("s390x-musl")
    with pytest.raises(Exception) as caught:
        ContainerRunner(target, None, _pinned(engine)).start()
    assert f"cannot pull {ref} for s390x-musl" in str(caught.value)
    assert "--image-source rootfs" in str(caught.value)


PINNED_SUITE = Path(__file__).resolve().parents[1] / "smoke" / "uv"


@pytest.mark.parametrize("engine", ["podman"], indirect=True)
def test_the_smoke_suite_runs_inside_a_pulled_image_with_python(engine, registry, built, cache, tmp_path):
    """A target pinned to an image with Python: the full suite runs in the pulled image.

    On podman only: the pull itself is tested on both engines above, and .ci/run runs the full suites on
    docker (3 minutes a run here).

    No registry reachable here serves python:*-alpine (what the musl targets pin), so the pinned image is
    archsmoke's own armv7 root pushed to the loopback registry, pinned on the armv7 target.  (Pinned on
    armv7-musl, the suite rightly fails it: its Python reports a glibc multiarch on a musl target.)
    """
    ref = _publish(engine, registry, built("armv7"), cache, "armv7-python")
    _catalog_pinning(tmp_path, "armv7", ref, python=True)
    junit = tmp_path / "junit.xml"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(PINNED_SUITE), "--arch", "armv7",
         "--runner", "container", "--engine", engine.name, "--image-source", "pinned",
         "--targets-dir", str(tmp_path / "vms"),
         "--cache-dir", str(cache.root), "--release", UV_VERSION, f"--junitxml={junit}"],
        capture_output=True, text=True, env=dict(os.environ), timeout=1200)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    summary = run.stdout.strip().splitlines()[-1]
    passed = re.fullmatch(r"(\d+) passed in .*", summary)  # nothing failed, errored or skipped
    assert passed and int(passed.group(1)) >= 31, summary
    report = junit.read_text()
    assert f'name="archsmoke_root" value="image {ref}"' in report
    assert 'name="archsmoke_runner" value="container"' in report


# --- interrupted runs ----------------------------------------------------------------------------

@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["SIGINT", "SIGTERM", "SIGKILL"])
def test_an_interrupted_run_leaves_no_container(built, cache, engine, tmp_path, how):
    built("ppc64le-musl")

    def running(container):
        assert _exists(engine, container)

    container = interrupt_hanging_run(tmp_path, "target.container", ["--arch", "ppc64le-musl", "--runner", "container",
                                      "--engine", engine.name, "--cache-dir", str(cache.root)], how, check=running)
    # SIGINT and SIGTERM: the harness stops it.  SIGKILL: the holder's stdin closes and the engine's --rm removes it.
    assert _wait_gone(engine, container), f"container {container} outlived the harness ({how.name})"
    deadline = time.monotonic() + 15
    while processes_naming(container) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not processes_naming(container), "an engine process for it is still running"


def test_a_terminals_ctrl_c_stops_a_container_run_within_seconds(engine, built, cache, tmp_path):
    """Ctrl-C in a terminal signals the whole process group, the engine client holding the container too."""
    built("ppc64le-musl")
    timings: dict = {}
    container = interrupt_hanging_run(tmp_path, "target.container", ["--arch", "ppc64le-musl", "--runner", "container",
                                      "--engine", engine.name, "--cache-dir", str(cache.root)], signal.SIGINT, whole_group=True,
                                      timings=timings)
    assert timings["stop"] < 3, f"the run took {timings['stop']:.1f} s to stop"
    assert _wait_gone(engine, container), f"container {container} outlived the harness"


def test_containers_of_dead_runs_are_removed_at_the_next_start(engine, built, cache):
    image = images.from_rootfs(engine, built("aarch64-musl"), cache)
    # As left by a run whose engine client was killed too (a container no pipe holds): a dead owner pid.
    engine.run("run", "--detach", "--name", "archsmoke-orphan-test", "--label", f"{OWNER_LABEL}=999999999:1",
               *engine.run_flags, image.ref, "/bin/sh", "-c", "read _ || sleep 1000")
    live = engine.run("run", "--detach", "--name", "archsmoke-live-test", "--label",
                      f"{OWNER_LABEL}={os.getpid()}:{Path(f'/proc/{os.getpid()}/stat').read_text().rsplit(')', 1)[1].split()[19]}",
                      *engine.run_flags, image.ref, "/bin/sh", "-c", "sleep 1000")
    try:
        removed = remove_orphans(engine)
        assert "archsmoke-orphan-test" in removed and "archsmoke-live-test" not in removed
        assert not _exists(engine, "archsmoke-orphan-test") and _exists(engine, "archsmoke-live-test")
    finally:
        engine.remove("archsmoke-orphan-test", "archsmoke-live-test")
    assert live.returncode == 0


def test_prune_removes_images_of_outdated_root_filesystems(engine, built, cache, tmp_path, capsys):
    """Of this cache's own root filesystems only: images are the engine's, shared by every cache on the host."""
    from archsmoke import cli

    ref = f"{images.REPOSITORY}/ppc64le-musl:0ld0ld0ld0ld0ld0ld0ld0ld"
    foreign = f"{images.REPOSITORY}/ppc64le-musl:f0re1gnf0re1gnf0re1gnf0"
    for image, key in ((ref, "ppc64le-musl-0ld0ld0ld0ld0ld0ld0ld0ld"), (foreign, "ppc64le-musl-f0re1gnf0re1gnf0re1gnf0")):
        _import_tree(engine, built("ppc64le-musl").root, "ppc64le", image, {images.KEY_LABEL: key})
    current = images.imported_ref(built("ppc64le-musl"))
    images.from_rootfs(engine, built("ppc64le-musl"), cache)
    listed = {r for r, _ in images.list_imported(engine)}
    assert {ref, foreign, current} <= listed
    own = tmp_path / "rootfs" / "ppc64le-musl-0ld0ld0ld0ld0ld0ld0ld0ld"  # the outdated tree it was made from
    own.mkdir(parents=True)
    try:
        mine = ["--cache-dir", str(tmp_path)]
        assert cli.main([*mine, "images", "prune", "--dry-run"]) == 0
        assert images.inspect(engine, ref) is not None
        assert cli.main([*mine, "images", "prune"]) == 0
        said = capsys.readouterr().out
        assert images.inspect(engine, ref) is None and images.inspect(engine, current) is not None
        assert images.inspect(engine, foreign) is not None, "an image of another cache was removed"
        assert "made from root filesystems of another cache" in said and foreign not in said, said
    finally:
        engine.run("rmi", "--force", foreign, check=False)
