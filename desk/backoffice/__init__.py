"""The back office: deliveries per signatory, failed jobs, paper answers, postal letters."""
