"""Dashboard for unit leads and admins: intake, open tasks, lead time and Skonto (issue 5)."""
