"""Read-only analysis library for the notebooks: tables, predictions, flags,
presentation, plots, and the context that loads a chapter's runs. Never trains."""
