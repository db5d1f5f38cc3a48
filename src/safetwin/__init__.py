"""safetwin: a safety-critical control stack for battery digital twins.

The C++ core (``safetwin._core``) holds the models and algorithms; this package is its face:
one module per layer (``battery``, ``estimation``, ``control``, ``safety``, ``trust``), the CLI
``safetwin`` and the HIL harness.
"""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("safetwin")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"
