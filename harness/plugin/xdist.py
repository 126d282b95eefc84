"""Under pytest-xdist, every test of one target goes to one worker, so each target starts once per run.

xdist's own ``--dist loadgroup`` groups by an ``@group`` suffix it writes into
``item._nodeid``; pytest 9 computes ``nodeid`` from ``_id`` instead, so that
suffix is lost and no grouping happens (measured with pytest 9.2, xdist 3.8).
archsmoke does not rely on it: its scheduler groups every test on a target by
its placement (a target on a tier, started once), and every other test by its
module, as xdist's ``--dist loadscope`` does, so what a module's fixtures start
is started once too.

The scheduler runs in the controller, which sees test ids only, and an id does
not say which of its parts is the placement: ``test_x[ppc64le-x86_64-manylinux]``
names two targets.  So each worker writes, as it collects, which placement each
of its tests has (from the test's parameters, not its id) to a directory the
controller hands it; the scheduler reads that, and a test that is in no map
goes with its module even where its id looks like a placement's (a self-test's
``test_x[ppc64le-ssh]`` starts targets of its own through its module's
fixtures, which a module's group starts once).  Reading the id is the
fallback when no worker wrote a map, leftmost placement first, as the plugin
parametrizes.
"""

from __future__ import annotations

import json
import os
from functools import cached_property
from pathlib import Path

import pytest
from xdist.scheduler import LoadScopeScheduling

from ..tiers.process import new_session_dir, remove_session_dir
from .verdict import placement_pattern

SESSION_PREFIX = "archsmoke-xdist-"
PLACEMENTS_DIR = "archsmoke_placements_dir"  # the key in a worker's workerinput
_DIR = pytest.StashKey[Path]()


def placements_dir(config: pytest.Config) -> Path:
    """The controller's directory for the workers' placement maps: made once, removed with the session, and
    named by its owner, so that the next run removes it if the controller was killed."""
    if _DIR not in config.stash:
        path = new_session_dir(SESSION_PREFIX, None)
        config.stash[_DIR] = path
        config.add_cleanup(lambda: remove_session_dir(path))
    return config.stash[_DIR]


def record_placements(config: pytest.Config, placement_ids: dict[str, str]) -> None:
    """On a worker: write {test id: placement id} where the controller will look."""
    where = getattr(config, "workerinput", {}).get(PLACEMENTS_DIR)
    if not where:
        return
    final = Path(where) / f"{config.workerinput['workerid']}.json"
    partial = final.with_suffix(".partial")
    partial.write_text(json.dumps(placement_ids))
    os.replace(partial, final)  # the controller never reads half a map


class TargetScheduling(LoadScopeScheduling):
    def __init__(self, config, log, placement_ids: list[str], maps: Path | None = None):
        super().__init__(config, log)
        self._target = placement_pattern(placement_ids)
        self._maps = maps

    @cached_property
    def _mapped(self) -> dict[str, str] | None:
        """The workers' maps merged, or None when none wrote one.  First asked once every worker has collected, so
        every map is written."""
        paths = sorted(self._maps.glob("*.json")) if self._maps else []
        if not paths:
            return None
        merged: dict[str, str] = {}
        for path in paths:
            merged.update(json.loads(path.read_text()))
        return merged

    def _placement_of(self, nodeid: str) -> str | None:
        if self._mapped is not None:
            # A test missing from the maps is on no placement of the run, whatever its id says (a self-test's
            # test_x[ppc64le-ssh] starts its own targets): it goes with its module.
            return self._mapped.get(nodeid)
        match = self._target.search(nodeid)
        return match.group(1) if match else None

    def _split_scope(self, nodeid: str) -> str:
        placement = self._placement_of(nodeid)
        return f"archsmoke-target:{placement}" if placement else nodeid.split("::", 1)[0]
