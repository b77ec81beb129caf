"""How a variant becomes a stored run: keys, the run store, training, executors."""
