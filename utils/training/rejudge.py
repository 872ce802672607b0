"""Every committed run and shipped model judged again by the balanced validation score, and how their ranks change.

    python -m utils.training.rejudge   # writes results/training/rejudged.json and .md, results/validation_groups.md
    python -m utils.training.rejudge --ensembles   # results/training/ensembles.json and .md (the time model's views)

Until the validation set was balanced by group of footage (:func:`utils.data.sampler.balanced_rows`), it was
192 triplets spread evenly over the validation split: 159 of them Big Buck Bunny's, so every checkpoint,
learning-rate and promotion decision followed animation. This command scores the best weights of each run under
``results/training/`` and each shipped model on the balanced set: per group of footage the gain over the
method's starting point (DIS for the flow models, averaging for the UNet), their mean (the decision score) and,
for the time models, the same through the video command's half-size path. The table ranks each family both ways.
Probes (``results/training/probes*/``) keep their records only, not their weights, so they cannot be judged again.

Caveat the table repeats: the held-out stretches that gave arcade, idtrackerai, kivy, mecavideo, pyfeat and tupi
validation frames were training frames of every model trained before the split changed, so those models' live
action and scientific scores are optimistic; runs started after it never saw them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from utils import paths, quiet
from utils.training import run_state

FAMILIES = {"flow_time": "time-conditioned flow UNet (t = 1/4, 1/2, 3/4; gain over DIS)",
            "flow": "flow UNet (t = 1/2; gain over DIS)",
            "unet": "direct UNet (t = 1/2; gain over averaging)"}


def candidates(root: str | Path = "results/training", models: str | Path = "results/models") -> list[dict]:
    """What there is to judge: each run folder with a ``best.weights.h5`` and each shipped ``<run>_corpus.keras``,
    with its family, its old score (the run's best or the model's record) and the set that score came from."""
    found = []
    for folder in sorted(paths.resolve(root).iterdir()):
        state = run_state.read_state(folder) if folder.is_dir() else None
        if state is None or state.best is None or not (folder / "best.weights.h5").is_file():
            continue
        found.append({"name": folder.name, "family": state.config.model, "weights": folder / "best.weights.h5",
                      "config": state.config, "old": state.best.val_psnr, "old_digest": state.validation_digest,
                      "old_baselines": state.baselines})
    for model in FAMILIES:
        path = paths.resolve(models) / f"{model}_corpus.keras"
        if path.is_file():
            record = json.loads(path.with_suffix(".json").read_text())
            found.append({"name": f"shipped {model}_corpus.keras", "family": model, "model": path,
                          "old": record["validation"]["psnr"], "old_digest": record["validation"]["digest"],
                          "old_baselines": record["validation"].get("baselines"), "run": Path(record["run"]).name})
    return found


def judge_all(found: list[dict], corpus_, count: int = 192, progress=print) -> dict:
    """Scores each of ``found`` on its family's balanced validation set; returns the record written to
    ``rejudged.json``."""
    import keras  # deferred: TensorFlow loads in seconds; --help stays instant

    from utils.training import loop  # deferred: with TensorFlow

    keras.mixed_precision.set_global_policy("float32")
    sets = {}
    result = {"count": count, "families": {}}
    for family in FAMILIES:
        members = [entry for entry in found if entry["family"] == family]
        if not members:
            continue
        timed = family == "flow_time"
        validation = _validation(corpus_, family, count)
        sets[family] = validation
        start = "average" if family == "unet" else "dis"
        rows = []
        for entry in members:
            progress(f"rejudge: {entry['name']}")
            if "model" in entry:
                network = keras.models.load_model(entry["model"], compile=False)
            else:
                network = loop.build_network(entry["config"])
                network.load_weights(str(entry["weights"]))
            psnrs = validation.psnrs(network)
            groups = {name: round(value - validation.group_baselines[start][name], 4)
                      for name, value in validation.by_group(psnrs).items()}
            row = {"name": entry["name"], "balanced": round(validation.balanced(psnrs), 4),
                   "balanced_gain": round(validation.balanced(psnrs) - validation.baselines[start], 4),
                   "groups": groups, "pooled": round(float(np.mean(psnrs)), 4), "old": entry["old"],
                   "old_gain": None if not entry.get("old_baselines") else
                   round(entry["old"] - entry["old_baselines"][start], 4),
                   "old_judge": _judge_name(str(entry["old_digest"]), validation.digest)}
            if "model" in entry:  # which file was judged: a later promotion makes the record stale
                row["file_digest"] = paths.digest(entry["model"])
            if timed:
                half = validation.psnrs(network, scaled=True)
                row["half_size_gain"] = round(validation.balanced(half) - validation.baselines[start], 4)
            rows.append(row)
        judged_before = [row for row in rows if row["old_judge"] == "pooled"]  # ranked on the old set alike
        for row, old in zip(judged_before, _ranks([row["old"] for row in judged_before])):
            row["old_rank"] = old
        for row, new in zip(rows, _ranks([row["balanced"] for row in rows])):
            row["rank"] = new
        result["families"][family] = {"title": FAMILIES[family], "start": start, "digest": validation.digest,
                                      "baselines": {name: round(value, 4) for name, value in validation.baselines.items()},
                                      "group_counts": {name: int((validation.groups == name).sum())
                                                       for name in validation.group_names},
                                      "rows": sorted(rows, key=lambda row: row["rank"])}
    return result


def _validation(corpus_, family: str, count: int):
    """The balanced validation set as ``family``'s runs are judged on it (the time model's with its half size)."""
    from utils.data import sampler  # deferred: with TensorFlow
    from utils.training import judge, loop  # deferred: with TensorFlow

    timed = family == "flow_time"
    return judge.Validation(sampler.validation_set(corpus_, count, times=loop.VALIDATION_TIMES if timed else None),
                            family != "unet", scaled_factor=sampler.SCALED_FACTOR if timed else 0)


def judge_ensembles(corpus_, model: str | Path = paths.DEFAULT_CHECKPOINT, count: int = 192, progress=print) -> dict:
    """The shipped time model's gain over DIS on the balanced validation set with 1, 2 and 4 views of each pair
    averaged (:mod:`utils.models.ensemble`), at full size and through the video command's half-size path: what
    the video command's ``--ensemble auto`` was decided by. Returns the record written to ``ensembles.json``."""
    import keras  # deferred: TensorFlow loads in seconds; --help stays instant

    from utils.models import ensemble  # deferred: with TensorFlow

    keras.mixed_precision.set_global_policy("float32")
    validation = _validation(corpus_, "flow_time", count)
    network = keras.models.load_model(paths.resolve(model), compile=False)
    rows = []
    for size in ("full", "half"):
        for views in ensemble.CHOICES:
            progress(f"ensembles: {views} view(s) at {size} size")
            psnrs = validation.psnrs(network, scaled=size == "half", views=views)
            rows.append({"size": size, "views": views, "names": list(ensemble.VIEWS[:views]),
                         "balanced_gain": round(validation.balanced(psnrs) - validation.baselines["dis"], 4),
                         "groups": {name: round(value - validation.group_baselines["dis"][name], 4)
                                    for name, value in validation.by_group(psnrs).items()}})
    return {"model": paths.display(paths.resolve(model)), "file_digest": paths.digest(paths.resolve(model)),
            "digest": validation.digest, "count": count, "start": "dis",
            "baselines": {name: round(value, 4) for name, value in validation.baselines.items()}, "rows": rows}


def ensembles_table(result: dict) -> str:
    """``ensembles.md``: the gain over DIS per number of views and size, and what each view adds."""
    groups = list(result["rows"][0]["groups"])
    lines = ["# The time model's test-time ensemble, judged on validation", "",
             f"`{result['model']}` on the balanced validation set ({result['count']} triplets at t = 1/4, 1/2, 3/4, "
             f"digest `{result['digest']}`), float32: gain in dB over DIS (balanced, then per group), each pair also "
             "seen reversed in time (2 views) and mirrored (4 views), the frames averaged "
             "(`utils/models/ensemble.py`). Written by `python -m utils.training.rejudge --ensembles`.", "",
             "| size | views | balanced gain | added by the views | " + " | ".join(groups) + " |",
             "|---|---|---|---|" + "---|" * len(groups)]
    single = {row["size"]: row["balanced_gain"] for row in result["rows"] if row["views"] == 1}
    added = {(row["size"], row["views"]): row["balanced_gain"] - single[row["size"]] for row in result["rows"]}
    for row in result["rows"]:
        gained = "-" if row["views"] == 1 else f"{added[row['size'], row['views']]:+.3f}"
        lines.append(f"| {row['size']} | {row['views']} | {row['balanced_gain']:+.3f} | {gained} | "
                     + " | ".join(f"{row['groups'][name]:+.3f}" for name in groups) + " |")
    lines += ["", f"What the video command's `--ensemble auto` follows: at full size two views add "
              f"{added['full', 2]:+.3f} dB and four {added['full', 4]:+.3f} for two and four times the network's work; "
              f"at the half size that the command runs on 720p and 1080p, {added['half', 2]:+.3f} and "
              f"{added['half', 4]:+.3f} (the enlarged fields limit the frame there), not worth doubling its slowest "
              "stage. So `auto` averages views only where the frame runs whole, as many (4 or 2) as keep the "
              "network's pixels per frame within one 960x540 frame's, and one view at a reduced scale."]
    return "\n".join(lines) + "\n"


def _judge_name(digest: str, balanced: str) -> str:
    """What a score's validation digest says about the set it was judged on."""
    base, _, scaled = digest.partition("-scaled")
    name = "balanced" if base == balanced.partition("-scaled")[0] else "pooled"
    return f"{name}, mean of full and half size" if scaled else name


def _ranks(values: list[float]) -> list[int]:
    """1 for the highest value."""
    order = np.argsort(-np.asarray(values, np.float64), kind="stable")
    ranks = np.empty(len(values), int)
    ranks[order] = np.arange(1, len(values) + 1)
    return ranks.tolist()


def table(result: dict) -> str:
    """``rejudged.md``: one table per family, best first by the balanced score."""
    lines = ["# Runs and shipped models judged by the balanced validation score", "",
             "Written by `python -m utils.training.rejudge`. Gains in dB over the family's starting point, per group "
             "of footage and their mean (the balanced score every decision now reads); `old` is the score the run "
             "was judged by when it ran (pooled: 159 of 192 triplets Big Buck Bunny). Rank changes are within a family. "
             "Arcade, idtrackerai, kivy, mecavideo, pyfeat and tupi's held-out stretches were training frames of every "
             "model listed here that was trained before the split changed: their live-action and scientific gains "
             "are optimistic. Probes kept no weights and are not judged again.", ""]
    for family, entry in result["families"].items():
        groups = list(entry["group_counts"])
        half = family == "flow_time"
        lines += [f"## {entry['title']}", "",
                  "validation triplets: " + ", ".join(f"{name} {count}" for name, count in entry["group_counts"].items())
                  + f"; balanced {entry['start'].upper() if entry['start'] == 'dis' else 'averaging'} "
                  f"{entry['baselines'][entry['start']]:.3f} dB", "",
                  "| rank (was) | weights | " + " | ".join(groups) + " | balanced gain | "
                  + ("half size | " if half else "") + "old gain (judge) |",
                  "|---|---|" + "---|" * len(groups) + "---|" + ("---|" if half else "") + "---|"]
        for row in entry["rows"]:
            old = "-" if row["old_gain"] is None else f"{row['old_gain']:+.3f}"
            lines.append(f"| {row['rank']} ({row.get('old_rank', '-')}) | {row['name']} | "
                         + " | ".join(f"{row['groups'][name]:+.3f}" for name in groups)
                         + f" | **{row['balanced_gain']:+.3f}** | "
                         + (f"{row['half_size_gain']:+.3f} | " if half else "")
                         + f"{old} ({row['old_judge']}) |")
        lines.append("")
    return "\n".join(lines)


SHIPPED_LABELS = {"flow_time": "time flow UNet, over DIS", "unet": "UNet, over averaging",
                  "flow": "flow UNet, over DIS"}


def groups_table(result: dict) -> str:
    """``results/validation_groups.md``: a line per validation group, a column per shipped model, each cell the
    model's gain over its starting point on that group (dB), and the balanced mean."""
    shipped = {family: next(row for row in entry["rows"] if row["name"].startswith("shipped"))
               for family, entry in result["families"].items()
               if any(row["name"].startswith("shipped") for row in entry["rows"])}
    families = [family for family in SHIPPED_LABELS if family in shipped]
    counts = result["families"][families[0]]["group_counts"]
    lines = ["| validation group (triplets) | " + " | ".join(SHIPPED_LABELS[family] for family in families) + " |",
             "|---|" + "---|" * len(families)]
    for group, count in counts.items():
        lines.append(f"| {group} ({count}) | " + " | ".join(f"{shipped[family]['groups'][group]:+.2f}"
                                                        for family in families) + " |")
    lines.append("| **balanced mean** | " + " | ".join(f"**{shipped[family]['balanced_gain']:+.2f}**"
                                                     for family in families) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=paths.program("utils.training.rejudge"), description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default="data", help="the corpus's parent folder (default: data)")
    parser.add_argument("--out", default=None,
                        help="where to write the record (default results/training/rejudged.json, with --ensembles "
                             "results/training/ensembles.json); the table goes beside it as .md")
    parser.add_argument("--ensembles", action="store_true",
                        help="instead, judge the shipped time model with 1, 2 and 4 views of each pair averaged "
                             "(what the video command's --ensemble auto was decided by)")
    parser.add_argument("--groups", default="results/validation_groups.md",
                        help="where to write the shipped models' gain per validation group ('' for none)")
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's start-up lines")
    args = parser.parse_args(argv)
    args.out = args.out or f"results/training/{'ensembles' if args.ensembles else 'rejudged'}.json"
    if Path(args.out).suffix != ".json":
        print(f"error: --out {args.out}: expected a file name ending in .json.", file=sys.stderr)
        return 2
    with quiet.native_stderr_to_log("rejudge", args.verbose):
        from utils.data import sampler  # deferred: after the log is redirected

        try:
            corpus_ = sampler.Corpus(args.data_dir)
        except FileNotFoundError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        if args.ensembles:
            result = judge_ensembles(corpus_)
        else:
            result = judge_all(candidates(), corpus_)
    out = paths.resolve(args.out)
    paths.save_json(result, out)
    with paths.atomic_target(out.with_suffix(".md")) as temporary:
        temporary.write_text(ensembles_table(result) if args.ensembles else table(result))
    written = [out, out.with_suffix(".md")]
    if not args.ensembles and args.groups and any(row["name"].startswith("shipped") for entry in result["families"].values()
                           for row in entry["rows"]):
        with paths.atomic_target(paths.resolve(args.groups)) as temporary:
            temporary.write_text(groups_table(result) + "\n")
        written.append(paths.resolve(args.groups))
    print("wrote " + ", ".join(paths.display(path) for path in written))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
