"""Controlled additions the seeds lacked that form a study of their own, one source file
per group (a seed's own controls, ``ctl_…`` variants of its recipe, live in its seed
file)."""
