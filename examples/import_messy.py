"""Import a messy customer spreadsheet, see what is wrong with it, export the clean result.

    python examples/import_messy.py

The file (``examples/data/customers_messy.csv``, 200 rows as a Chinese CRM's
Excel export looks) mixes phone formats (``138 0013 8000``, ``+86-138-...``,
``(+86)...``), date formats (``1990/1/2``, ``1990年1月2日``...), Chinese and
Western names in one 姓名 column, some invalid values and people listed twice.
"""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import crmcore
from crmcore.io import export_records, import_records, open_rows, suggest_mapping

DATA = Path(__file__).parent / "data" / "customers_messy.csv"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        crm = crmcore.connect(f"sqlite:///{tmp}/crm.db")

        # 1. a mapping proposed from the headers and values, to confirm
        with open_rows(DATA) as rows:
            sample = [row for _, row in itertools.islice(rows, 50)]
            suggestion = suggest_mapping(rows.columns, sample)
        print("Suggested mapping:")
        print(suggestion)
        mapping = suggestion.mapping(城市="addresses[0].city")  # confirm (or correct) it here

        # 2. a dry run: every problem of every row, nothing written
        with crm.session() as s:
            dry = import_records(
                s, DATA, mapping, key=["custom.external_id", "phone"], dry_run=True
            )
            print(f"\n{dry}")
            assert s.customers.count() == 0

        # 3. the import: upsert on the customer number, then on the phone; flag look-alikes
        with crm.session() as s:
            report = import_records(
                s,
                DATA,
                mapping,
                key=["custom.external_id", "phone"],
                duplicates="flag",
                source_system="excel-export",
                quality=True,
            )
        print(f"\n{report}\n")
        print(report.quality)
        print(f"\n{report.invalid} rows need fixing:")
        for error in report.errors:
            print(f"  {error}")
        errors = report.write_errors(Path(tmp) / "customers_errors.xlsx")
        print(f"(the rows and their errors are in {errors.name}: fix them, import that file)")

        # 4. the clean data out again
        with crm.session() as s:
            out = Path(tmp) / "customers_clean.csv"
            n = export_records(
                s,
                "customers",
                out,
                fields=[
                    "last_name",
                    "first_name",
                    "phone",
                    "email",
                    "date_of_birth",
                    "gender",
                    "tags",
                    "source",
                ],
            )
        print(f"\nexported {n} clean customers; the first lines of {out.name}:")
        for line in out.read_text(encoding="utf-8-sig").splitlines()[:6]:
            print("  " + line)
        crm.close()


if __name__ == "__main__":
    main()
