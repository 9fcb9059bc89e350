"""Detection: prefilter, exact rule regexes on small windows, filters, checks."""
