"""archsmoke's pytest plugin (the ``pytest11`` entry point): options, hooks, fixtures and reporting.

Installed, it is inert: a run that passes none of its options and whose tests use none of its
fixtures loads nothing, starts nothing and prints nothing.
"""

from .fixtures import (arch_target, archsmoke, archsmoke_product, binary_under_test, installed_binary,
                       installed_node_package, installed_python_package, reported_version, target, target_host,
                       target_placement, target_tmp_path)
from .hooks import (harness_errors, pytest_collection_modifyitems, pytest_configure, pytest_generate_tests,
                    pytest_configure_node, pytest_load_initial_conftests, pytest_runtest_makereport,
                    pytest_xdist_make_scheduler)
from .options import pytest_addoption
from .reporting import _archsmoke_properties, pytest_report_header, pytest_sessionfinish, pytest_terminal_summary

__all__ = ["arch_target", "archsmoke", "archsmoke_product", "binary_under_test", "harness_errors", "installed_binary",
           "installed_node_package", "installed_python_package",
           "reported_version", "target", "target_host", "target_placement", "target_tmp_path", "pytest_addoption", "pytest_collection_modifyitems",
           "pytest_configure", "pytest_configure_node", "pytest_generate_tests", "pytest_load_initial_conftests", "pytest_report_header", "pytest_runtest_makereport",
           "pytest_sessionfinish", "pytest_terminal_summary", "pytest_xdist_make_scheduler",
           "_archsmoke_properties"]
