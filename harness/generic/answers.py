"""How a build answers a command (`tool --version`), what every answer must be, and how two builds' answers are
compared once each side's own words (its arch, its triple, where it is installed) are set aside."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from archsmoke.arches import words_for
from archsmoke.install import InstalledBinary
from archsmoke.binary.product import TRIPLE
from archsmoke.signals import signal_name

# What allocators and C libraries print when they give up: a build for the wrong page size (jemalloc's
# "Unsupported system page size"), heap corruption, or an allocation the target cannot serve.
ALLOCATOR_ABORTS = re.compile(
    r"<jemalloc>|Unsupported system page size|mimalloc: error|malloc\(\): |free\(\): |double free or corruption|"
    r"corrupted size vs\. prev_size|memory allocation of \d+ bytes failed|out of memory", re.IGNORECASE)


@dataclass(frozen=True)
class Answer:
    """What one command of the build did: its exit code (-N for a signal N, also when a launcher stood between),
    its output, and the full report of what ran."""

    command: str  # as the user would type it: "mytool --help"
    exit_code: int
    stdout: str
    stderr: str
    timed_out: bool
    report: str
    launcher_said: int | None = None  # the launcher's own exit code, where the real executable's signal was read

    @property
    def ending(self) -> str:
        if self.timed_out:
            return "did not finish within its budget"
        if self.exit_code < 0:
            through = f" (its launcher exited {self.launcher_said})" if self.launcher_said is not None else ""
            return f"was killed by {signal_name(-self.exit_code)}{through}"
        return f"exited {self.exit_code}"


def ask(target, installed: InstalledBinary, name: str, args: tuple[str, ...]) -> Answer:
    """Run `name ARGS` as users do (through PATH, a wheel's launcher included) and, where a launcher stands in
    front of the real executable, that executable too: a Python launcher turns SIGSEGV into exit 245, a shell
    into 139, and only the executable itself tells the signal."""
    result = target.run([installed.executable(name), *args], env=installed.env)
    exit_code, report, launcher_said = result.exit_code, result.report(), None
    real = installed.real.get(name)
    if real:
        behind = target.run([real, *args], env=installed.env)
        report += f"\n--- the executable behind the launcher ---\n{behind.report()}"
        if behind.exit_code < 0 and exit_code >= 0:
            exit_code, launcher_said = behind.exit_code, result.exit_code
    return Answer(" ".join((name, *args)), exit_code, result.stdout, result.stderr,
                  result.timed_out, report, launcher_said)


def problems(answer: Answer, *, must_exit_zero: bool) -> list[str]:
    """What is wrong with an answer whatever the build: an allocator's abort, a signal, no answer at all."""
    found = []
    abort = ALLOCATOR_ABORTS.search(answer.stderr + answer.stdout)
    if abort:
        found.append(f"`{answer.command}` printed an allocator's abort ({abort.group(0)!r})")
    if answer.timed_out or answer.exit_code < 0:
        found.append(f"`{answer.command}` {answer.ending}")
    elif not (answer.stdout or answer.stderr).strip():
        found.append(f"`{answer.command}` printed nothing")
    elif must_exit_zero and answer.exit_code != 0:
        found.append(f"`{answer.command}` {answer.ending}, not 0")
    return found


# When each build was made, as C's __DATE__ and __TIME__ print it (Jan  6 2026, 12:03:44): every arch's build of one
# release is made in a job of its own, so these differ between builds that behave the same.
_BUILD_TIME = re.compile(r"\b(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\b")
_BUILD_DATE = re.compile(r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 123]\d \d{4}\b")


@dataclass(frozen=True)
class Side:
    """One build's words: its arch, where it is installed, when it was built (set aside before outputs are
    compared)."""

    label: str  # "x86_64 (reference)", "ppc64le"
    debian_arch: str
    install_dirs: tuple[str, ...]

    def normalised(self, text: str, other: Side) -> str:
        for directory in sorted({*self.install_dirs}, key=len, reverse=True):
            text = text.replace(directory, "<install>")
        text = TRIPLE.sub("<triple>", text)
        words = sorted({*words_for(self.debian_arch), *words_for(other.debian_arch)}, key=len, reverse=True)
        text = re.sub(rf"(?<![A-Za-z0-9])({'|'.join(map(re.escape, words))})(?![A-Za-z0-9])", "<arch>", text)
        text = _BUILD_DATE.sub("<date>", _BUILD_TIME.sub("<time>", text))
        return "\n".join(line.rstrip() for line in text.strip().splitlines())


def differences(reference: Answer, ref_side: Side, answer: Answer, side: Side) -> list[str]:
    """How this build's answer differs from the reference build's, each stream shown side by side as a diff."""
    found = []
    if (reference.exit_code, reference.timed_out) != (answer.exit_code, answer.timed_out):
        found.append(f"`{answer.command}` {answer.ending} on {side.label}, but {reference.ending} on {ref_side.label}")
    for stream in ("stdout", "stderr"):
        theirs = ref_side.normalised(getattr(reference, stream), side)
        ours = side.normalised(getattr(answer, stream), ref_side)
        if theirs != ours:
            diff = difflib.unified_diff(theirs.splitlines(), ours.splitlines(), ref_side.label, side.label,
                                        lineterm="", n=2)
            shown = "\n".join(list(diff)[:60])
            found.append(f"`{answer.command}` printed another {stream} on {side.label} than on {ref_side.label} "
                         f"(arch words, triples and install paths set aside):\n{shown}")
    return found
