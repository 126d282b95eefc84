"""What one archsmoke run knows: its configuration (run_config.py), its placements as they run
(placements.py) and its builds (installs.py), behind one object the plugin's fixtures and hooks use.

The pytest plugin and the benchmark both drive targets through these objects, so there is one place that
turns options into started, installed targets.
"""

from __future__ import annotations

from ..progress import Sink
from .installs import Installs
from .placements import Placements
from .run_config import Options, RunConfig


class Archsmoke:
    # What each part answers, by name (fixtures and hooks ask the run as a whole).
    _PARTS = {
        "config": ("options", "sink", "catalog", "targets", "plan", "cache", "builder", "local_binaries", "releases",
                   "origins", "tier_settings", "tiers", "placements", "host_addresses", "default_product",
                   "may_test_libraries"),
        "run": ("records", "started", "failed_placements", "record_of"),
        "installs": ("binary_for", "download", "installed", "reported_version", "touched"),
    }

    def __init__(self, options: Options, sink: Sink | None = None):
        self.config = RunConfig(options, sink)
        self.run = Placements(self.config)
        self.installs = Installs(self.config, self.run)

    def __getattr__(self, name: str):
        for part, names in self._PARTS.items():
            if name in names:
                return getattr(self.__dict__[part], name)
        raise AttributeError(f"{type(self).__name__!r} has no attribute {name!r}")


__all__ = ["Archsmoke", "Options"]
