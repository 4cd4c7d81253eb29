"""bbb_xl: bookings, billings, backlog (RPO), deferred revenue and ASC 606 revenue schedules, exact to the cent."""
from .core.errors import BBBError, Problem
from .engine.book import Book, Schedule, load_book

__version__ = "0.3.0"


def main(control_id: str = "bbb_refresh"):
    """What the bbb_xl ribbon add-in's buttons run: `RunPython "import bbb_xl; bbb_xl.main('<button id>')"`."""
    from .excel.addin import ribbon_action
    return ribbon_action(control_id)


__all__ = ["Book", "Schedule", "load_book", "BBBError", "Problem", "__version__"]
