"""The build: chapters, their provenance, _variables.yml, and the orchestrator
that trains, executes and renders (:mod:`cifar_core.orchestrate.build`)."""
