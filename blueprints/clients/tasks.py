"""The clients service has no tasks: keys are checked synchronously on each request."""
