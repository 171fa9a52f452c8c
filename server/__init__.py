"""The airlift-lsp language server and command line."""

__version__ = "0.1.0"
