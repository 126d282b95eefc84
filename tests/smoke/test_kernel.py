"""What every target's commands run on: the page size and kernel they see, against what the reports say."""

from __future__ import annotations

import os
import re


def _page_size(target) -> int:
    # getconf where the root has it (glibc roots); the kernel's own word otherwise (busybox roots have no getconf).
    if target.file_exists("/usr/bin/getconf"):
        out = target.run(["getconf", "PAGESIZE"]).check().stdout
        return int(out.strip())
    out = target.run(["/bin/sh", "-c", "grep -m1 KernelPageSize /proc/self/smaps"]).check().stdout
    kib = re.search(r"KernelPageSize:\s+(\d+) kB", out)
    assert kib, f"no KernelPageSize in /proc/self/smaps: {out!r}"
    return int(kib.group(1)) * 1024


def test_page_size_is_what_the_run_reports(archsmoke, target, target_placement, arch_target):
    """On the VM tier, the target's own kernel: the YAML's page_size.  On a real machine, its kernel's, and
    the run names the target's page size as not covered when they differ.  Elsewhere, the host's pages, as the
    run header and report say (a test that assumed the target's page size there would be a false pass)."""
    seen = _page_size(target)
    assert str(seen) == target.kernel_facts["page_size"]
    if not target.disposable:
        record = archsmoke.records[target_placement.id]
        claimed = f"page size {arch_target.page_size // 1024} KiB"
        assert (claimed in record.proves) == (seen == arch_target.page_size), record
        if seen != arch_target.page_size:
            assert f"{claimed} on {arch_target.name}" in record.not_covered, record
    elif target.boots_own_kernel:
        assert seen == arch_target.page_size, (
            f"{arch_target.name}'s kernel runs with {seen}-byte pages; {arch_target.source.name} says "
            f"{arch_target.page_size}")
    else:
        assert seen == os.sysconf("SC_PAGE_SIZE")


def test_kernel_is_the_one_reported(target, arch_target):
    release = target.run(["uname", "-r"]).check().stdout.strip()
    assert target.kernel_facts["kernel_release"].split()[0] == release
    assert target.run(["uname", "-m"]).check().stdout.strip() == arch_target.arch.uname
