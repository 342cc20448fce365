"""The DVC stages (validate, split, train, crossvalidate, evaluate, register) and their helpers: the champion gate,
the real-text gold sets, metrics and plots."""
