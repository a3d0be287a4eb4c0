"""The analysis commands over historical ticks, on the same core as the live system:
``backtest`` (prequential metrics), ``report`` (its plots, page and MLflow run) and ``tune``
(a grid of model files scored on walk-forward folds)."""
