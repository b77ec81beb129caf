"""The optimizer study: seed 004's final model trained with each optimizer the seeds
used, at the seeds' own rates. Seed 002 conjectures that SGD is "probably not the most
appropriate algorithm for this dataset" (its claim is in ``seeds/s002.py``).

>>> [v.optimizer for v in VARIANTS]
['sgd', 'adam', 'rmsprop']
"""

from cifar_core.experiments.declare import Budget, each, study
from cifar_core.experiments.seeds.s004 import FINAL

CONSTANT = dict(schedule="constant", schedule_params={})
ADAPTIVE = dict(learning_rate=1e-3, momentum=0.0, nesterov=False)  # Adam's and RMSprop's
VARIANTS = (
    FINAL.replace(name="ctl_final_sgd_momentum", learning_rate=0.01, nesterov=False, **CONSTANT),
    FINAL.replace(name="ctl_final_adam", optimizer="adam", **ADAPTIVE, **CONSTANT),
    FINAL.replace(name="ctl_final_rmsprop", optimizer="rmsprop", **ADAPTIVE),
)

STUDIES = (
    study(
        "optimizer",
        "Optimizer at the seeds' rates (seed 004 final model)",
        chapter="04-training",
        sources=["004", "002"],
        baseline="s004_final",
        variants=["ctl_final_sgd_momentum", "s004_final", "ctl_final_adam", "ctl_final_rmsprop"],
        notes="SGD+momentum 0.01 (seed 002 Model 2), SGD+Nesterov 0.04 with decay 1e-6 "
        "(seed 004), Adam 1e-3 (seeds 000/001/002), RMSprop 1e-3 with decay 1e-6 "
        "(seed 002 Model 3).",
    ),
)

BUDGET = (
    Budget(
        "optimizer study on seed 004's final model",
        each("ctl_final_sgd_momentum ctl_final_adam ctl_final_rmsprop", 20),
        (0,),
        "As s004_final; one seed (the comparison with it is paired on seed 0).",
    ),
)
