# The plugin is normally loaded through its pytest11 entry point after `pip install`;
# this also makes a bare checkout work (`PYTHONPATH=. pytest`).
from importlib.metadata import entry_points

if not any(ep.name == "archsmoke" for ep in entry_points(group="pytest11")):
    pytest_plugins = ["harness.plugin"]
