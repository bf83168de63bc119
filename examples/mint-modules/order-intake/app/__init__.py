"""order-intake: validates quote requests and files them as artwork seeds in files-api."""
