"""From a run configuration to data, model, trainer and predictions.

The command line (``python -m core.train`` / ``core.evaluate``) and the dashboard both go
through this package, so a run started from either is the same run.
"""
