"""fastai's side of `cargo xtask bench`: epoch times of the tabular lesson (Adult, bs 64,
fit_one_cycle, training and validation), printed as JSON (`values`: seconds per epoch;
`peak_mib`: the process's peak resident memory).

    python scripts/bench/fastai_tabular.py --data ../shared/data/adult/adult.csv --runs 7 --threads 2
"""
import argparse
import json
import time

import pandas as pd
import torch
from fastai.tabular.all import (Categorify, FillMissing, Normalize, TabularDataLoaders, accuracy,
                                tabular_learner)
from bench_common import peak_rss_mib


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    df = pd.read_csv(args.data, skipinitialspace=True)
    dls = TabularDataLoaders.from_df(
        df, y_names="salary",
        cat_names=["workclass", "education", "marital-status", "occupation", "relationship", "race"],
        cont_names=["age", "fnlwgt", "education-num"],
        procs=[Categorify, FillMissing, Normalize], valid_pct=0.2, seed=42, bs=64,
        device=torch.device("cpu"))
    learn = tabular_learner(dls, metrics=accuracy)
    times = []
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(1)  # warm-up
        for _ in range(args.runs):
            t = time.perf_counter()
            learn.fit_one_cycle(1)
            times.append(time.perf_counter() - t)
        acc = float(learn.validate()[1])
    print(json.dumps({"values": times, "accuracy": acc, "peak_mib": peak_rss_mib(),
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
