"""splink (Fellegi-Sunter, EM-trained, DuckDB) on the Febrl deduplication data sets, as the peer
figure for Concord's matcher. Reads the CSV files scripts/datasets.sh exported (the same records
and the same fields Concord reads: names and address, no date of birth or social security id) and
prints one line per data set: precision, recall and F1 of the pairs splink predicts at match
probability >= 0.5, and the time taken.

The settings follow splink's own guidance for person data: name comparisons with term-frequency
adjustments, Levenshtein tiers on address lines and postcode, exact street number and state;
several blocking rules OR-ed; u from random sampling; lambda from a deterministic rule; m by EM in
two sessions blocked on different fields.
"""
import csv
import sys
import time

import pandas as pd
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on


def truth_pairs(path):
    with open(path, newline="", encoding="utf-8") as f:
        r = csv.reader(f)
        next(r)
        return {tuple(sorted(row)) for row in r}


def run(directory, name):
    frame = pd.read_csv(f"{directory}/{name}.csv", dtype=str, keep_default_na=False)
    frame = frame.rename(columns={"rec_id": "unique_id"})
    for c in frame.columns:
        frame[c] = frame[c].str.strip().replace("", None)
    truth = truth_pairs(f"{directory}/{name}_links.csv")
    started = time.time()
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.ExactMatch("street_number"),
            cl.LevenshteinAtThresholds("address_1", [1, 3]),
            cl.LevenshteinAtThresholds("address_2", [1, 3]),
            cl.NameComparison("suburb").configure(term_frequency_adjustments=True),
            cl.LevenshteinAtThresholds("postcode", [1, 2]),
            cl.ExactMatch("state"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("given_name"),
            block_on("surname"),
            block_on("postcode"),
            block_on("suburb"),
            block_on("street_number", "address_1"),
        ],
    )
    linker = Linker(DuckDBAPI().register(frame), settings, log_level=40)
    linker.training.estimate_probability_two_random_records_match([block_on("given_name", "surname")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("given_name", "surname"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
    pred = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
    found = {tuple(sorted(p)) for p in zip(pred.unique_id_l, pred.unique_id_r)}
    took = time.time() - started
    tp = len(found & truth)
    p = tp / len(found) if found else 1.0
    r = tp / len(truth) if truth else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    print(f"splink  {name}: records {len(frame)} truth {len(truth)} found {len(found)} P={p:.4f} R={r:.4f} F1={f1:.4f} {took:.2f}s", flush=True)


if __name__ == "__main__":
    for n in ["febrl1", "febrl2", "febrl3"]:
        run(sys.argv[1], n)
