"""``gpt-trader monitor``: a live terminal view of sessions, workflow executions and alerts."""
