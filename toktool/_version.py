"""The version, in a module of its own: nothing imports the package face (`toktool/__init__.py`)."""

__version__ = "0.1.0"
