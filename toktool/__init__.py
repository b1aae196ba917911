"""toktool: train, evaluate and transplant tokenizers from the command line."""

__version__ = "0.1.0"
