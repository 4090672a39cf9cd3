"""Build openiop/assessments/data/icd10cm_f_z.csv: the ICD-10-CM codes clinicians search.

Every billable (leaf) code of chapter 5 (F01–F99, mental, behavioral and neurodevelopmental
disorders) and a curated list of Z codes used in behavioral health (psychosocial
circumstances, counseling, tobacco and opioid history…).

The code set comes from the PyPI package ``simple-icd-10-cm`` (the CMS ICD-10-CM release it
bundles; version 1.5.0 built the committed list). It is not a dependency of OpenIOP: install
it in a throwaway environment.

    python -m venv /tmp/icdvenv && /tmp/icdvenv/bin/pip install simple-icd-10-cm
    /tmp/icdvenv/bin/python scripts/build_icd10_list.py

The output is committed; run this again when CMS publishes a new fiscal-year release.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent.parent / "openiop/assessments/data/icd10cm_f_z.csv"

# Z codes relevant to behavioral health: every billable code under these prefixes.
Z_PREFIXES = (
    # Z55–Z65: persons with potential health hazards related to socioeconomic and
    # psychosocial circumstances (education, employment Z56, housing Z59, social
    # environment Z60, upbringing Z62, family Z63, psychosocial Z64, other Z65).
    "Z55",
    "Z56",
    "Z57",
    "Z58",
    "Z59",
    "Z60",
    "Z62",
    "Z63",
    "Z64",
    "Z65",
    "Z69",  # encounter for mental health services for victim and perpetrator of abuse
    "Z71.4",  # alcohol abuse counseling and surveillance
    "Z71.5",  # drug abuse counseling and surveillance
    "Z71.6",  # tobacco abuse counseling
    "Z72.0",  # tobacco use
    "Z72.5",  # high-risk sexual behavior
    "Z72.6",  # gambling and betting
    "Z73",  # problems related to life-management difficulty
    "Z79.891",  # long-term (current) use of opiate analgesic
    "Z79.899",  # other long-term (current) drug therapy
    "Z81",  # family history of mental and behavioral disorders
    "Z86.51",  # personal history of combat and operational stress reaction
    "Z86.59",  # personal history of other mental and behavioral disorders
    "Z87.891",  # personal history of nicotine dependence
    "Z91.1",  # patient's noncompliance with medical treatment and regimen
    "Z91.4",  # personal history of psychological trauma
    "Z91.5",  # personal history of self-harm (suicidal behavior, nonsuicidal self-harm)
    "Z91.8",  # other specified personal risk factors (e.g. wandering)
    "Z33.1",  # pregnant state, incidental
)


def build() -> list[tuple[str, str]]:
    import simple_icd_10_cm as cm

    rows: list[tuple[str, str]] = []
    for code in cm.get_all_codes(with_dots=True):
        if code[:1] not in ("F", "Z") or not cm.is_leaf(code):
            continue
        if code.startswith("F") or code.startswith(Z_PREFIXES):
            rows.append((code, cm.get_description(code)))
    return sorted(set(rows))


def main() -> int:
    rows = build()
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    with OUTPUT.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["code", "description"])
        writer.writerows(rows)
    f_count = sum(1 for code, _ in rows if code.startswith("F"))
    print(f"{OUTPUT}: {len(rows)} codes ({f_count} F, {len(rows) - f_count} Z)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
