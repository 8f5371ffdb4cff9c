"""The corpus recipe (Debian packages -> training and test files) and the benchmark sets built from its held-out
files. Run by `scripts/prepare_data.py`; nothing here is needed to upsample."""
