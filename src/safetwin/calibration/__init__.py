"""Calibration: fit the one cell model to measured logs (``safetwin fit``).

``logs`` reads and checks logs, ``fit`` holds the least-squares problem and its covariance,
``cell_writer`` writes the cell file, ``report`` the residual report.
"""
