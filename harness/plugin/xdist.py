"""Under pytest-xdist, every test of one target goes to one worker, so each target starts once per run.

xdist's own ``--dist loadgroup`` groups by an ``@group`` suffix it writes into
``item._nodeid``; pytest 9 computes ``nodeid`` from ``_id`` instead, so that
suffix is lost and no grouping happens (measured with pytest 9.2, xdist 3.8).
archsmoke does not rely on it: its scheduler groups by the target placement
named in each test id (``test_x[ppc64le]``, ``test_x[ppc64le-vm]``: a target on
a tier, started once), and every other test by its module, as xdist's
``--dist loadscope`` does, so what a module's fixtures start is started once too.
"""

from __future__ import annotations

from xdist.scheduler import LoadScopeScheduling

from .verdict import placement_pattern


class TargetScheduling(LoadScopeScheduling):
    def __init__(self, config, log, placement_ids: list[str]):
        super().__init__(config, log)
        self._target = placement_pattern(placement_ids)

    def _split_scope(self, nodeid: str) -> str:
        match = self._target.search(nodeid)
        return f"archsmoke-target:{match.group(1)}" if match else nodeid.split("::", 1)[0]
