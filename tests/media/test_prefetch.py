"""video_io.prefetch: the stages of the video command overlap without losing order, errors or a clean stop."""

from __future__ import annotations

import threading
import time

import pytest

from utils.media import video_io


def test_items_arrive_in_order():
    assert list(video_io.prefetch(iter(range(100)), depth=3)) == list(range(100))
    assert list(video_io.prefetch(iter([]))) == []


def test_an_error_in_the_worker_reaches_the_caller():
    def failing():
        yield 1
        raise ValueError("frame 2 is broken")

    stream = video_io.prefetch(failing())
    assert next(stream) == 1
    with pytest.raises(ValueError, match="frame 2 is broken"):
        next(stream)


def test_stopping_early_stops_the_worker_and_closes_the_source():
    closed = threading.Event()
    produced = []

    def source():
        try:
            for index in range(1000):
                produced.append(index)
                yield index
        finally:
            closed.set()

    stream = video_io.prefetch(source(), depth=2)
    assert next(stream) == 0
    stream.close()  # what a break, an error or Ctrl-C in the caller does
    assert closed.wait(5)
    time.sleep(0.2)
    assert len(produced) < 10  # the worker stopped a few items ahead, not at the end
    assert not [t for t in threading.enumerate() if t.name == "prefetch"]
