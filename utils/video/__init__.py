"""Notebook 06: times between frames and retiming (:mod:`.retime`), whole videos converted safely
(:mod:`.convert`), and the command (:mod:`.interpolate`: ``python -m utils.video.interpolate``)."""
