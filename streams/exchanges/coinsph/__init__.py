"""Coins.ph: one listenKey user data stream (balances, order events, fills) plus signed REST."""
