"""The training-code version that is part of every run key.

Bump :data:`TRAINING_CODE_VERSION` whenever a change to the training path (fit,
callbacks, evaluation, what a run directory holds) would make old cached runs
incomparable with new ones: every existing entry then shows as ``stale`` in
``cifar-report status`` and is retrained on demand (``cifar-report clean`` removes them).
Kept in its own tiny module so that the read side (store, status) can import it
without importing Keras.
"""
TRAINING_CODE_VERSION = "1"
