"""The installed labsuite version (PEP 440); ``0.0.0+unknown`` in a source tree that is not installed."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("labsuite")
except PackageNotFoundError:
    __version__ = "0.0.0+unknown"
