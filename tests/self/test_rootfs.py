"""Root filesystem cache: keys, one build under concurrency, interrupted and damaged entries. Real mmdebstrap."""

import dataclasses
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from hanging_run import as_in_a_terminal, processes_naming
from archsmoke.cache import ENTRY_FILE, Cache, content_key, read_entry
from archsmoke.cli.images import ARTEFACTS_HEADING
from archsmoke.rootfs import KIND, RootfsBuilder, cache_key, tree_digest, verify_tree


def check_entry(path, key):
    entry, why = read_entry(path, key, verify_tree)
    return (entry.meta if entry else None), why

ARCH = "s390x"  # the quickest to build here


def _cli(cache_dir: Path, *args: str, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "archsmoke", "--cache-dir", str(cache_dir), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=as_in_a_terminal, **popen)


def test_key_covers_everything_that_defines_the_tree(catalog):
    target = catalog.get(ARCH)
    assert cache_key(target) == cache_key(catalog.get(ARCH))
    more = dataclasses.replace(target, rootfs=dataclasses.replace(target.rootfs, packages=(*target.rootfs.packages, "curl")))
    other_suite = dataclasses.replace(target, rootfs=dataclasses.replace(target.rootfs, suite="trixie"))
    reordered = dataclasses.replace(target, rootfs=dataclasses.replace(target.rootfs, packages=tuple(reversed(target.rootfs.packages))))
    assert len({cache_key(target), cache_key(more), cache_key(other_suite)}) == 3
    assert cache_key(reordered) == cache_key(target)
    assert cache_key(target).startswith(f"{ARCH}-")
    assert content_key({"a": 1, "b": [1, 2]}) == content_key({"b": [1, 2], "a": 1})


def test_built_entry_is_sound_and_usable(built):
    rootfs = built(ARCH)
    manifest, why = check_entry(rootfs.path, rootfs.key)
    assert why == "" and manifest["tree_digest"] == tree_digest(rootfs.root)[0]
    assert (rootfs.root / "usr/bin/python3").exists()
    assert (rootfs.root / "etc/passwd").read_text().startswith("root:")
    assert list((rootfs.root / "usr/lib/python3.11/__pycache__").glob("os.*.pyc")), "stdlib not byte-compiled"


def test_concurrent_builds_of_one_image_build_it_once(tmp_path):
    first, second = _cli(tmp_path, "images", "build", ARCH), _cli(tmp_path, "images", "build", ARCH)
    outputs = [p.communicate(timeout=600) for p in (first, second)]
    assert first.returncode == second.returncode == 0, outputs
    logs = "".join(err for _, err in outputs)
    assert logs.count("mmdebstrap: success") == 1, logs
    entries = [p for p in (tmp_path / KIND).iterdir() if not p.name.endswith(".lock")]
    assert len(entries) == 1 and not entries[0].name.startswith(".tmp")
    assert outputs[0][0] == outputs[1][0]  # both name the same finished entry


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["SIGINT", "SIGTERM", "SIGKILL"])
def test_an_interrupted_build_leaves_nothing_that_looks_finished(tmp_path, catalog, how):
    gpg_homes = set(Path(tempfile.gettempdir()).glob("mmdebstrap.*"))
    build = _cli(tmp_path, "images", "build", ARCH)
    deadline = time.monotonic() + 120
    for line in build.stderr:  # wait until mmdebstrap is busy
        if "extracting archives" in line or "downloading packages" in line or time.monotonic() > deadline:
            break
    build.send_signal(how)
    build.communicate(timeout=60)
    assert build.returncode != 0
    deadline = time.monotonic() + 10
    while processes_naming(str(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not processes_naming(str(tmp_path)), "the build's processes outlived the harness"
    key = cache_key(catalog.get(ARCH))
    assert not (tmp_path / KIND / key).exists()
    listing = _cli(tmp_path, "images", "list").communicate(timeout=60)[0]
    root_filesystems = listing.split(f"\n{ARTEFACTS_HEADING} (")[0]  # the engine's images are not the cache's
    assert key not in root_filesystems
    assert set(Path(tempfile.gettempdir()).glob("mmdebstrap.*")) <= gpg_homes, "mmdebstrap left its temporaries"
    leftovers = list((tmp_path / KIND).glob(".tmp-*"))
    if how == signal.SIGKILL:
        # Nothing runs at SIGKILL: the half-built tree stays, unmistakably unfinished, until prune or the next build.
        assert leftovers
        pruned = _cli(tmp_path, "images", "prune").communicate(timeout=60)[0]
        assert "unfinished build" in pruned
        assert not list((tmp_path / KIND).glob(".tmp-*"))
    else:
        assert not leftovers
    assert not [line for line in Path("/proc/self/mountinfo").read_text().splitlines() if str(tmp_path) in line]


def test_a_damaged_entry_is_detected_and_rebuilt(tmp_path, built, catalog):
    source = built(ARCH)
    cache = Cache(tmp_path)
    copy = cache.entry_path(KIND, source.key)
    subprocess.run(["cp", "-a", str(source.path), str(copy)], check=True)
    os.unlink(copy / "root/usr/bin/python3.11")
    assert "contents changed" in check_entry(copy, source.key)[1]
    messages: list[str] = []
    rebuilt = RootfsBuilder(cache, sink=messages.append).ensure(catalog.get(ARCH))
    assert any("is damaged" in m for m in messages)
    assert (rebuilt.root / "usr/bin/python3.11").exists()
    assert check_entry(rebuilt.path, rebuilt.key)[1] == ""


def test_an_entry_without_manifest_is_not_finished(tmp_path, built, catalog):
    source = built(ARCH)
    copy = Cache(tmp_path).entry_path(KIND, source.key)
    subprocess.run(["cp", "-a", str(source.path), str(copy)], check=True)  # the tree holds device nodes
    (copy / ENTRY_FILE).unlink()
    assert check_entry(copy, source.key) == (None, "entry.json unreadable (FileNotFoundError)")


def test_prune_keeps_current_entries_and_removes_outdated(tmp_path, built):
    source = built(ARCH)
    area = tmp_path / KIND
    area.mkdir()
    subprocess.run(["cp", "-a", str(source.path), str(area / source.key)], check=True)
    stale = area / f"{ARCH}-000000000000000000000000"
    subprocess.run(["cp", "-a", str(source.path), str(stale)], check=True)
    out = _cli(tmp_path, "images", "prune").communicate(timeout=60)[0]
    assert f"removing {stale.name} (damaged: entry.json is for another key)" in out
    assert (area / source.key).exists() and not stale.exists()


def test_export_then_import_keeps_the_tree_exact(tmp_path, built):
    source = built(ARCH)
    archive = tmp_path / "rootfs.tar"
    exported = _cli(source.path.parent.parent, "images", "export", ARCH, str(archive))
    assert exported.communicate(timeout=120)[1] == "" and exported.returncode == 0
    imported = _cli(tmp_path / "other", "images", "import", str(archive))
    out, err = imported.communicate(timeout=120)
    assert imported.returncode == 0, err
    assert out.strip() == source.key
    copy = tmp_path / "other" / KIND / source.key
    assert check_entry(copy, source.key)[1] == ""
    assert tree_digest(copy / "root") == tree_digest(source.root)


def test_an_import_of_a_damaged_tree_is_refused(tmp_path, built):
    source = built(ARCH)
    staged = tmp_path / "staged"
    staged.mkdir()
    subprocess.run(["cp", "-a", str(source.path), str(staged / source.key)], check=True)
    os.unlink(staged / source.key / "root/usr/bin/python3.11")
    archive = tmp_path / "damaged.tar"
    subprocess.run(["tar", "-C", str(staged), "-cf", str(archive), source.key], check=True)
    imported = _cli(tmp_path / "other", "images", "import", str(archive))
    err = imported.communicate(timeout=120)[1]
    assert imported.returncode == 6 and "holds a damaged root filesystem (contents changed" in err
    assert not (tmp_path / "other" / KIND / source.key).exists()


def test_same_size_content_changes_need_the_deep_check(tmp_path, built):
    """The check on every use compares the tree's shape; `images verify --deep` hashes every file."""
    source = built(ARCH)
    area = tmp_path / KIND
    area.mkdir()
    copy = area / source.key
    subprocess.run(["cp", "-a", str(source.path), str(copy)], check=True)
    victim = copy / "root/usr/lib/python3.11/os.py"
    text = victim.read_bytes()
    victim.write_bytes(text.replace(b"import abc", b"import xyz", 1))  # same size, other content
    assert len(victim.read_bytes()) == len(text) and victim.read_bytes() != text
    shallow = _cli(tmp_path, "images", "verify", ARCH)
    assert shallow.communicate(timeout=120)[0].strip().endswith("sound (shape checked)") and shallow.returncode == 0
    deep = _cli(tmp_path, "images", "verify", ARCH, "--deep")
    out = deep.communicate(timeout=120)[0]
    assert deep.returncode == 1 and "DAMAGED (content changed: usr/lib/python3.11/os.py)" in out, out


def test_a_root_from_an_unreleased_suite_says_so(built):
    assert built("riscv64").describe().endswith("(Debian sid: unreleased, changes daily)")
    assert built("ppc64le").describe() == f"root filesystem {built('ppc64le').key}"
