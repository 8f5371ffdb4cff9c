"""The benchmark: suites (`suites/*.json`), metrics, classical baselines, evaluation, reports and tables."""
