"""The api layer: talking to LeadSquared (client, paging, rate limit, replies) and the fake."""
