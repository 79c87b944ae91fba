"""Runs: the run-folder contract, and starting and supervising training processes."""
