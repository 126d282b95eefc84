"""Finding host tools, the same way for the runners and for `doctor`."""

from __future__ import annotations

import os
import shutil

from ..errors import HostSetupError

_SYSTEM_DIRS = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def find_tool(name: str) -> str | None:
    """Absolute path of a host tool, or None; sbin is searched too, as normal users' PATH often lacks it."""
    return shutil.which(name, path=f"{os.environ.get('PATH', '')}:{_SYSTEM_DIRS}")


def host_tool(name: str, package: str) -> str:
    found = find_tool(name)
    if found is None:
        raise HostSetupError(f"{name} is not installed", fix=f"apt-get install {package}")
    return found
