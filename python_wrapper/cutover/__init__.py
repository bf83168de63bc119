"""cutover: run a gated production cutover through ansible-runner and keep receipts."""

__version__ = "0.1.0"
