"""The link-prediction objective (`objective: link_prediction`): a GCN/GraphSAGE link predictor
trained the OGB ddi way, swept by its parameters (see `LinkPredictionParams`)."""

from objectives.link_prediction.objective import objective
from objectives.link_prediction.params import LinkPredictionParams

__all__ = ["LinkPredictionParams", "objective"]
