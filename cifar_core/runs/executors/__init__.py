"""Executors that train missing runs: local worker processes (default) or Ray."""
