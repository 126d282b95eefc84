"""The few exceptions archsmoke raises, each with its own process exit code.

Every error carries a message written for the person at the keyboard: what is
wrong and, where there is one, the command or option that fixes it.  The CLI
and the pytest plugin print ``str(error)`` and exit with ``error.exit_code``;
they never show a traceback for these.
"""


class HarnessError(Exception):
    exit_code = 1

    def __init__(self, problem: str, fix: str | None = None):
        self.problem = problem
        self.fix = fix
        super().__init__(problem, fix)

    def __str__(self) -> str:  # from the fields, which a caller may still add to
        return self.problem if not self.fix else f"{self.problem}\n  fix: {self.fix}"


class ConfigError(HarnessError):
    """Bad user input: unknown arch, invalid target YAML, bad option value."""

    exit_code = 2


class HostSetupError(HarnessError):
    """The host lacks something: QEMU, a binfmt handler, mmdebstrap, namespaces."""

    exit_code = 3


class BinaryError(HarnessError):
    """The binary under test is unusable for the target: wrong arch, not an ELF, bad wheel."""

    exit_code = 4


class ReleaseDefect(HarnessError):
    """The build contradicts its own label (a wheel tagged manylinux holding a musl executable, a file named for
    arm64 holding x86_64 code): a defect of the release, not of the input.  It fails that target's tests, and the
    run exits 1 like any failed test (bisect counts the release as bad)."""

    exit_code = 1


class DownloadError(HarnessError):
    """A download failed, was corrupt, or asked for a version that does not exist."""

    exit_code = 5


class NoBinaryForTarget(DownloadError):
    """The release exists but publishes no binary for this target (its tests are skipped, not failed)."""


class ImageBuildError(HarnessError):
    """A root filesystem could not be built."""

    exit_code = 6


class TargetError(HarnessError):
    """A started target failed: could not start, or a command in it timed out."""

    exit_code = 7
