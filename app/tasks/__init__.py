"""The RQ entry points, above the services they call; the engine enqueues them by dotted name."""
