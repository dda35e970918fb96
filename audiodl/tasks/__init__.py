"""Tasks: one module per task combining front end, model and decoder (imported lazily)."""
