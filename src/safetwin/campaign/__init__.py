"""Safety campaigns: a generative scenario engine with unbiased failure probabilities.

A campaign file (TOML) describes a probability distribution over closed-loop scenarios with an
explicit density; the engine samples it (crude Monte Carlo or cross-entropy importance sampling),
runs every sample through the true plant and the guarded cycle (``simulate``), on Dask, streams
the records to Parquet, and estimates P(failure) with a 95 % interval. See docs/campaign.md.
"""
