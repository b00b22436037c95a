"""The drift monitoring job: capture format, text signals, calibrated drift checks, baselines."""
