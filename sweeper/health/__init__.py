"""Training-health signals."""
