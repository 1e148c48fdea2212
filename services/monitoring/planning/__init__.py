"""Joint planning as the operations centre sees it: open conflicts, overdue work."""
