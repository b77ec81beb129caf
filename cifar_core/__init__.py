"""cifar_core: data, models, experiment catalog, training, run store, analysis,
plots, rendering and CLI behind the cifar-report research report."""

__version__ = "0.1.0"
