"""Read-side analyses computed from stored runs (no Keras): calibration, per-class
accuracy across variants, compute-controlled comparisons."""
