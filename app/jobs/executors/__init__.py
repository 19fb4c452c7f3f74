"""Executors turn a run into a command line, parse its output and judge how it ended."""
