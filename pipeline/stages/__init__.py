"""The DVC stages (validate, split, train, crossvalidate, evaluate, register) and their helpers: the champion gate,
the real-text gold sets, the predictions table, metrics and plots."""
