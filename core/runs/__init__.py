"""Runs: the run folder contract, and (later) starting and supervising training processes."""
