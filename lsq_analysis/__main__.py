"""``python -m lsq_analysis``: the same as the ``lsq-analysis`` command.

Example:
    $ python -m lsq_analysis fetch --leads-file leads.txt --out activities.parquet
"""

import sys

from .cli import main

sys.exit(main())
