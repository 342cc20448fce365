"""Scoring new text: reading inputs, the Scorer every front end goes through, explanations, worker
processes and the output files of `policy-signals score`."""
