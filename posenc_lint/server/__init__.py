"""The posenc-lint language server, started by ``posenc-lint server``; it needs pygls."""

from posenc_lint.server.language_server import create_server, main

__all__ = ["create_server", "main"]
