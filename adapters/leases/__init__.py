"""Who runs what when several processes share one system: session leases (and one-time claims) on Redis."""
