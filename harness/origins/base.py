"""The origin interface: where a product's published builds come from.

An origin resolves a product, a version ('latest' included) and a target to a verified file, made ready as the
build under test; and lists the releases it has, with whether each has a build for the target (for bisect).
Where it is (a URL, a directory) is its one option, given on pytest's and bisect's command lines; an origin
given none uses its own default.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import ClassVar

from packaging.version import Version

from ..binary.product import Product
from ..binary.unpack import BinaryUnderTest
from ..cache import Cache
from ..progress import Sink
from ..targets import Target


@dataclass
class Published:
    """What an origin has of a product, for one target."""

    where: str  # the index, registry or directory
    project: str  # the product's name there
    builds: dict[Version, bool]  # version -> whether it has a build for the target
    yanked: set[Version] = field(default_factory=set)


@dataclass(frozen=True)
class OriginOption:
    """The command-line option that says where an origin is (--index-url URL)."""

    flag: str
    dest: str
    help: str
    metavar: str = "URL"


class Origin(abc.ABC):
    name: ClassVar[str]
    option: ClassVar[OriginOption]

    def __init__(self, where: str | None = None):
        self.where = where  # the option's value (checked by Origins before anything runs); None: its default

    @classmethod
    def check(cls, where: str | None) -> None:
        """Refuse a bad option value before anything runs (ConfigError naming the option)."""

    @abc.abstractmethod
    def project(self, product: Product, target: Target) -> str:
        """The product's name here, for this target (npm's per-platform package, the index's project)."""

    @abc.abstractmethod
    def fetch(self, product: Product, version: str, target: Target, cache: Cache,
              sink: Sink | None = None, python: tuple[int, int] | None = None) -> BinaryUnderTest:
        """The product's build for the target at that version (or the newest: 'latest'), downloaded once and
        verified, then prepared (unpacked, its executables found).  `python` is the target's CPython, given for
        a product whose builds are made for one (extension wheels): the build its installer would take."""

    @abc.abstractmethod
    def published(self, product: Product, target: Target) -> Published:
        """Every release here, with whether it has a build for the target."""
