"""What a tier declares about itself: its name and runner, its options and settings, its YAML section, its doctor
checks, what it keeps outside the cache, and what a target on it proves (page size, CPU model).  A new tier is a
Tier subclass with a Runner (base.py); tiers on this host's kernel share host_kernel.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar

from ..host.checks import Check
from ..targets import Target
from ..targets.sections import Section

if TYPE_CHECKING:
    from .base import Runner


@dataclass(frozen=True)
class Artefact:
    """Something a tier made from one of archsmoke's root filesystems and keeps outside its cache (an engine's
    image), for `images list` and `images prune`."""

    kind: str  # how listings head it: "podman image"
    ref: str
    rootfs_key: str  # the root filesystem it was made from
    remove: Callable[[], None]


@dataclass(frozen=True)
class TierOption:
    """A command-line option that belongs to one tier (pytest adds it; other tiers refuse it)."""

    flag: str
    dest: str
    help: str
    default: Any = None
    choices: tuple[str, ...] | None = None
    metavar: str = "VALUE"
    repeatable: bool = False  # given several times, its value is the list of them


class Tier:
    """A way to run targets.  A new tier is a folder under tiers/ with a Tier subclass and a Runner,
    plus one line in tiers/__init__.py."""

    name: ClassVar[str]
    runner: ClassVar[type[Runner]]
    options: ClassVar[tuple[TierOption, ...]] = ()
    section: ClassVar[Section | None] = None  # the tier's own part of a target's YAML, parsed by the tier

    @classmethod
    def settings(cls, values: dict[str, Any]) -> Any:
        """The tier's validated settings from its options' values (raise ConfigError on bad ones)."""
        return None

    @classmethod
    def describe(cls, settings: Any) -> str:
        """For the run header."""
        return cls.name

    @classmethod
    def default_arches(cls, settings: Any) -> list[str]:
        """The arches a run on this tier tests when no --arch is given ([]: the catalog's default)."""
        return []

    @classmethod
    def check(cls, settings: Any, catalog: Any, targets: list[Target]) -> None:
        """Check the settings against the run's targets (raise ConfigError), once they are chosen."""

    @classmethod
    def execution(cls, target: Target) -> str:
        """How the target's binaries run on this tier, for the run header."""
        raise NotImplementedError(f"tier {cls.name} does not say how it runs {target.name}")

    @classmethod
    def emulator_version(cls, target: Target) -> str | None:
        """The emulator's version for reports (None: no emulator runs the target's binaries)."""
        return None

    @classmethod
    def uses_rootfs(cls, settings: Any, target: Target) -> bool:
        """Whether a target on this tier needs archsmoke's root filesystem (else the tier brings its own root)."""
        return True

    # What a target on this tier can prove (harness/coverage.py, harness/cpu_floor.py): the page size its
    # commands see and the CPU model the binary under test runs on.  Every tier answers both.
    @classmethod
    def page_size(cls, target: Target) -> int:
        """The page size the target's commands see on this tier."""
        raise NotImplementedError(f"tier {cls.name} does not say which page size {target.name} runs with")

    @classmethod
    def describe_pages(cls, target: Target) -> str:
        """The page size, for a gap's reason ("this host's 4 KiB pages")."""
        return f"{cls.page_size(target) // 1024} KiB pages"

    @classmethod
    def cpu_model(cls, target: Target, override: str | None) -> str | None:
        """The CPU model the binary under test runs at here (None: this host's own CPU)."""
        return None

    @classmethod
    def floor_unavailable(cls, target: Target) -> str | None:
        """Why the binary under test does not run at the model cpu_model names, though the tier chose it (None:
        it does)."""
        return None

    @classmethod
    def defines(cls, target: Target) -> bool:
        """Whether the target's definition says how to run it on this tier at all."""
        return True

    @classmethod
    def artefacts(cls) -> list[Artefact]:
        """What this tier keeps outside the cache, made from root filesystems (all of them, any cache's)."""
        return []

    @classmethod
    def doctor_checks(cls, targets: list[Target]) -> list[Check]:
        """What this tier needs of the host for these targets, for `python -m archsmoke doctor`."""
        return []

    @classmethod
    def unavailable(cls, target: Target) -> str | None:
        """Why this host cannot run the target on this tier (None: it can, as far as can be known before starting)."""
        return None
