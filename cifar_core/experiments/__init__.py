"""Experiment definitions that import no Keras: the flagship recipe (:mod:`.flagship`)."""
