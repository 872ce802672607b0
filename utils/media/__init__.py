"""Images and video in and out, for every wing: reading and writing images (:mod:`.image_io`), probing, decoding,
encoding and muxing video through the ffmpeg that imageio-ffmpeg ships (:mod:`.video_io`), and the plotting
helpers every notebook shares (:mod:`.plots`)."""
