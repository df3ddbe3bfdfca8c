"""Local stand-ins for the exchanges: one neutral account truth, rendered by each exchange's simulator."""

from streams.simulator.base import ExchangeSimulator, Refusal, SimClient, serve_until_cancelled
from streams.simulator.truth import InsufficientFunds, SimulatedAccount

__all__ = [
    "ExchangeSimulator",
    "InsufficientFunds",
    "Refusal",
    "SimClient",
    "SimulatedAccount",
    "serve_until_cancelled",
]
