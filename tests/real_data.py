"""The real datasets in `../shared/data/` (beside the repository), copied where tests may write.

ogb writes `processed/` next to `raw/`, and the shared copy is read-only, so every test gets its
own copy. A missing shared folder is an error, not a skip: the tests are about the real files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
OGBL_DDI = SHARED_DATA / "ogbl_ddi"

#: Figures of ogbl-ddi release v1 (its README and OGB's paper).
DDI_NODES = 4267
DDI_TRAIN_EDGES = 1_067_911
DDI_VALID = (133_489, 101_882)  # positives, negatives
DDI_TEST = (133_489, 95_599)


def copy_ogbl_ddi(data_root: Path) -> Path:
    """Copy the real ogbl-ddi to `data_root/ogbl_ddi` (writable) and return `data_root`, the
    folder a study's `data_root` names."""
    if not (OGBL_DDI / "RELEASE_v1.txt").is_file():
        raise FileNotFoundError(f"the real ogbl-ddi is expected in {OGBL_DDI}")
    target = data_root / "ogbl_ddi"
    for source in OGBL_DDI.rglob("*"):
        if source.is_file():
            copy = target / source.relative_to(OGBL_DDI)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, copy)  # contents only: the shared copy is read-only
    return data_root
