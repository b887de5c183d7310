"""The health service has no models: it only reports on the process."""
