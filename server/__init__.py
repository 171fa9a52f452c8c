"""The airlift-lsp language server and command line."""
