"""Push Django customers to FluentCart (WordPress) exactly once."""

__version__ = "0.1.0"
