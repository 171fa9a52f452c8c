"""One module per LSP feature, each with a small ``register(server)``."""
