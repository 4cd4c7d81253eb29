"""The engine: contract lines in, exact schedules and balances out. Never imports Excel or file libraries."""
