"""`policy-signals serve`: the scoring API and the reading page, on FastAPI + uvicorn."""
