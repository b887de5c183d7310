"""The clients service has no HTTP input or output: clients are managed with commands."""
