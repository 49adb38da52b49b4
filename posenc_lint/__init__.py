"""posenc-lint: find position-embedding mistakes in PyTorch model code."""

__version__ = "0.1.0"
