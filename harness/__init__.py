"""archsmoke: proves that cross-built binaries really work on the architectures they ship for.

The import name is ``archsmoke``; in the repository its code lives in ``harness/``.
What a project's conftest uses::

    from archsmoke import Product
"""

from .binary import RUFF, UV, BinaryUnderTest, InstalledBinary, Product, ReportedVersion
from .errors import BinaryError, ConfigError, DownloadError, HarnessError, HostSetupError, TargetError
from .plugin import harness_errors
from .tiers import CommandFailed, CommandResult, Runner

__all__ = ["RUFF", "UV", "BinaryError", "BinaryUnderTest", "CommandFailed", "CommandResult", "ConfigError",
           "DownloadError", "HarnessError", "HostSetupError", "InstalledBinary", "Product", "ReportedVersion",
           "Runner", "TargetError", "harness_errors"]
