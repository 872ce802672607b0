"""Notebook 05: scores of every method on held-out frames (:mod:`.scoring`), the evaluation command
(:mod:`.evaluate`: ``python -m utils.evaluation.evaluate``) and the results' figures (:mod:`.gallery`)."""
