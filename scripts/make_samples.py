"""Write the bundled sample (data/samples/) from the seeded synthetic generator.

Usage: .venv/bin/python scripts/make_samples.py
Deterministic: running it again rewrites byte-identical files.
"""

from __future__ import annotations

import json
from pathlib import Path

from lsq_analysis.api.fake import synthetic as _synthetic

OUT = Path(__file__).resolve().parent.parent / "data" / "samples"
SEED = 2025
N_LEADS = 25
ACTIVITIES = (40, 160)


def _response_text(activities: list[dict]) -> str:
    # ensure_ascii: non-BMP characters are written as \ud835\udc06-style surrogate pairs,
    # as real responses carry them; one activity per line keeps diffs readable.
    lines = ",\n".join("  " + json.dumps(a, ensure_ascii=True) for a in activities)
    return f'{{"RecordCount": {len(activities)}, "ProspectActivities": [\n{lines}\n]}}\n'


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.json"):
        old.unlink()
    leads = _synthetic.generate(N_LEADS, activities=ACTIVITIES, seed=SEED, days=180)
    for lead_id, activities in leads.items():
        (OUT / f"{lead_id}.json").write_text(_response_text(activities), encoding="utf-8")
    catalog = json.dumps(_synthetic.activity_types(), indent=2, ensure_ascii=True)
    (OUT / "activity_types.json").write_text(catalog + "\n", encoding="utf-8")
    total = sum(len(a) for a in leads.values())
    print(f"wrote {len(leads)} leads, {total} activities to {OUT}")


if __name__ == "__main__":
    main()
