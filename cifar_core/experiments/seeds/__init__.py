"""The five seed reports, one source file each (``s000.py`` … ``s004.py``): the
experiments a report ran as variants, its studies, the figures it reports, how it
trained and scored, its claims quoted, and what the ``sample`` profile gives them.

The reports themselves are ``../shared/seeds/<file>`` (outside the project).
"""

SEED_FILES = {
    "000": "000_01db5562a8938968.txt",
    "001": "001_c57b9b24992a24fd.txt",
    "002": "002_9b08b6f72382b430.txt",
    "003": "003_f66d146831284692.txt",
    "004": "004_8744a69186e23c83.txt",
}
"""Seed id → the seed report's file name."""
