"""Allow `python -m pipeline ...` (what dvc.yaml runs, so each workspace uses its own code)."""
from pipeline.cli import run

run()
