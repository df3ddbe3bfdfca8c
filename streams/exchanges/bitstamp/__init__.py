"""Bitstamp: one websocket with per-market private channels (token from REST), HTTP API v2 for the
snapshot, fill recovery and the balances, which Bitstamp only gives by polling."""
