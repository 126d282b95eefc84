# The plugin is normally loaded through its pytest11 entry point after `pip install` (`./bootstrap`
# installs this checkout in editable mode under its import name, `archsmoke`).  This also makes a
# bare checkout work (`pytest` without installing): harness/ is imported as `archsmoke`.
import importlib.util
import sys
from pathlib import Path

if importlib.util.find_spec("archsmoke") is None:
    _spec = importlib.util.spec_from_file_location(
        "archsmoke", Path(__file__).parent / "harness" / "__init__.py",
        submodule_search_locations=[str(Path(__file__).parent / "harness")])
    sys.modules["archsmoke"] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules["archsmoke"])
    pytest_plugins = ["archsmoke.plugin"]
