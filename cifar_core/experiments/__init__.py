"""What runs: variants (frozen configs), the seeds' experiments as studies, and the
profiles that scale them. Keras-free."""
