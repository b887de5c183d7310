"""The health service has no tasks: it only reports on the process."""
