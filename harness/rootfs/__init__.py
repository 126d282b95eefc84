"""Root filesystems: built from Debian's archive without emulated maintainer scripts, cached by content."""

from .build import FORMAT, KIND, RootFilesystem, RootfsBuilder, cache_key, recipe
from .transfer import export_entry, import_entry
from .tree import UNREADABLE, changed_files, resolve_in_root, tree_digest, verify_tree

__all__ = ["FORMAT", "KIND", "RootFilesystem", "RootfsBuilder", "UNREADABLE", "cache_key", "export_entry",
           "changed_files", "import_entry", "recipe", "resolve_in_root", "tree_digest", "verify_tree"]
