"""archsmoke: proves that cross-built binaries really work on the architectures they ship for.

The import name is ``archsmoke``; in the repository its code lives in ``harness/``.
What a project's conftest uses::

    from archsmoke import Product, harness_errors

Names are imported on first use, so the runners and the CLI work without pytest installed.
"""

from importlib import import_module

_EXPORTS = {
    "Product": "binary", "ReportedVersion": "binary", "BinaryUnderTest": "binary", "InstalledBinary": "install",
    "UV": "binary", "RUFF": "binary", "ESBUILD": "binary",
    "HarnessError": "errors", "ConfigError": "errors", "HostSetupError": "errors", "BinaryError": "errors",
    "DownloadError": "errors", "TargetError": "errors",
    "Runner": "tiers", "CommandResult": "tiers", "CommandFailed": "tiers",
    "Placement": "placement", "harness_errors": "plugin",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'archsmoke' has no attribute {name!r}")
