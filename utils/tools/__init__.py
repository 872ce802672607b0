"""Tools around the tutorial: the papermill runner of the numbered notebooks (:mod:`.pipeline`), the benchmarks
(:mod:`.bench`) and the Colab links (:mod:`.colab`)."""
