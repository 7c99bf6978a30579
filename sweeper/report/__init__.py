"""The study report (`sweeper report`) and the numbers and figures it shares with the dashboard.

Submodules import plotly themselves; `sweeper.report.trials` stays light for workers.
"""
