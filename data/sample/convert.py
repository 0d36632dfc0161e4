"""Rebuild the shipped Parquet files from the original CSV downloads.

Usage: python data/sample/convert.py SOURCE_DIR
SOURCE_DIR holds gbr/*.csv and global/*.csv as published (see SOURCES.md). Values are kept
as they are; only the container changes ("NA" and "nd" become nulls). Run once by a
maintainer; nothing in the product reads the CSVs.
"""

import sys
from pathlib import Path

import duckdb

OUT = Path(__file__).resolve().parent

FILES = {
    "gbr/aerial_bleaching_1998_2002.csv": "gbr_aerial_bleaching_1998_2002.parquet",
    "gbr/dhw.csv": "gbr_dhw_annual_max_1985_2017.parquet",
    "gbr/environmental.csv": "gbr_environmental.parquet",
    "gbr/cyclones.csv": "gbr_cyclones_1985_2017.parquet",
    "gbr/cots.csv": "gbr_cots_1985_2017.parquet",
    "global/gcbd_reefcheck_subset_1998_2015.csv": "gcbd_reefcheck_1998_2015.parquet",
}


def convert(source: Path) -> None:
    con = duckdb.connect()
    for rel, name in FILES.items():
        src = source / rel
        out = OUT / name
        con.execute(
            f"COPY (SELECT * FROM read_csv('{src}', header=true, nullstr=['NA','nd',''],"
            f" sample_size=-1)) TO '{out}' (FORMAT parquet, COMPRESSION zstd)"
        )
        rows = con.execute(f"SELECT count(*) FROM '{out}'").fetchone()
        print(f"{rel} -> {name}: {rows[0] if rows else 0} rows")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    convert(Path(sys.argv[1]))
