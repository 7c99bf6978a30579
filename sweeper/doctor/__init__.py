"""`sweeper doctor`: which settings made a study's trials sick, and a study file without them.

Presentation-layer analysis (beside `sweeper.report`): it reads a study's trials and stored
study file and never writes trials; workers do not import it.
"""

from sweeper.doctor.diagnosis import MIN_TRIALS, Diagnosis, diagnose

__all__ = ["MIN_TRIALS", "Diagnosis", "diagnose"]
