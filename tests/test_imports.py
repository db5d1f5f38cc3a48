"""Every module of the package imports: the cheapest check that a module keeps to the oldest
supported Python (3.9: no `match`, no PEP 604 unions evaluated at run time, tomllib only from 3.11)
and that its dependencies resolve on the newest. tools/test_other_pythons.sh runs it first on each."""
import importlib
import pkgutil

import pytest

import safetwin

MODULES = sorted(m.name for m in pkgutil.walk_packages(safetwin.__path__, "safetwin."))


def test_the_package_has_its_layers():
    # Guards the walk itself: an empty list would pass the test below without importing anything.
    for layer in ("safetwin.cycle", "safetwin.safety", "safetwin.campaign", "safetwin.hil", "safetwin.commands"):
        assert layer in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_module_imports(name):
    importlib.import_module(name)
