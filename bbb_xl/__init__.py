"""bbb_xl: bookings, billings, backlog (RPO), deferred revenue and ASC 606 revenue schedules, exact to the cent."""
from .core.errors import BBBError, Problem
from .engine.book import Book, Schedule, load_book

__version__ = "0.1.0"
__all__ = ["Book", "Schedule", "load_book", "BBBError", "Problem", "__version__"]
