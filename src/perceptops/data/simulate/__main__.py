"""``python -m perceptops.data.simulate [OUT.png]``: write the demo city's contact sheet."""

from __future__ import annotations

import sys
from pathlib import Path

from perceptops.data.simulate._sheet import contact_sheet

if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/img/demo-city.png")
    print(contact_sheet(target))
