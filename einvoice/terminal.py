"""The consoles every command prints through.

Soft wrapping keeps a long line (a path, a message) on one line when the output
is piped or read by a script; rich would otherwise break it at 80 columns.
"""

from __future__ import annotations

from rich.console import Console

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)
