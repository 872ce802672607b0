"""Notebook 01: the Vimeo90K layout and its ``tf.data`` pipeline (:mod:`.vimeo`), real clips cut into triplets
(:mod:`.clips`), synthetic scenes (:mod:`.synthetic`, :mod:`.occlusion`), TFRecords (:mod:`.tfrecords`),
the real-footage corpus (:mod:`.packages`, :mod:`.corpus`: ``python -m utils.data.corpus``) and its sampler
(:mod:`.sampler`), and each profile's prepared data (:mod:`.datasets`)."""
