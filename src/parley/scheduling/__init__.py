"""Pure pieces of `/sfu schedule`: reading the time, recurrences and iCalendar files."""
