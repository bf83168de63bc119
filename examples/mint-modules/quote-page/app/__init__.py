"""quote-page: the customer-facing quote page."""
