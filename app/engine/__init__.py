"""The pipeline: scheduling, probing, RQ jobs and state transitions."""
