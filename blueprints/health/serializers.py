"""The health service has no serializers: it only reports on the process."""
