"""Notebook 04: ``model.fit`` helpers (:mod:`.fitting`), the long run on the real-footage corpus (:mod:`.longrun`:
``python -m utils.training.longrun``; its typed state :mod:`.run_state`, its validation judge :mod:`.judge`,
its records :mod:`.records`) and the learning curves (:mod:`.curves`)."""
