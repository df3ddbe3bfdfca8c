"""Fuzzing every exchange parser: whatever arrives, a parser returns typed events or raises a typed
parse error (MalformedFrame, or the exchange's documented REST error) — never another exception, never a
float, never a NaN, infinite or negative amount.

Each target below is one parser entry point as the sessions and REST clients call it (Coins.ph with a
symbol table, Bitstamp with its market names, Bitzoom with a subId map), fed (a) random JSON values,
(b) its exchange's real example frames (from the parser tests and the protocol notes) with fields
replaced by other types, huge, exponent, negative and NaN/Infinity values (bare tokens included), and
(c) those frames damaged as text: truncated, invalid UTF-8 decoded with errors="replace" or
"surrogateescape", lone surrogates, deep nesting. Bitzoom also gets several frames joined by newlines.

Examples per property: FUZZ_EXAMPLES (default 40, keeping this file well under 60 s on two busy cores).
A deeper run, e.g.: FUZZ_EXAMPLES=5000 bash .ci/test tests/test_fuzz_parsers.py
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.events import BalancesEvent, MalformedFrame, OrdersEvent
from streams.exchange import error_text
from streams.exchanges.bitopro import parser as bitopro
from streams.exchanges.bitstamp import parser as bitstamp
from streams.exchanges.bitzoom import parser as bitzoom
from streams.exchanges.coinsph import parser as coinsph
from streams.exchanges.coinw import parser as coinw
from tests import test_bitopro_parser as bitopro_t
from tests import test_bitstamp_parser as bitstamp_t
from tests import test_bitzoom_parser as bitzoom_t
from tests import test_coinsph_parser as coinsph_t
from tests import test_coinw_parser as coinw_t
from tests.fuzz_helpers import corrupted, dumps, holds, json_values, mutated

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
T = 1_700_000_000_000


@dataclass(frozen=True)
class Target:
    name: str
    call: Callable[[str], object]
    frames: list[str]
    errors: tuple[type[BaseException], ...] = field(default=())


def _j(value: object) -> str:
    return json.dumps(value)


# ---- stream entry points ----------------------------------------------------------------------

_bitstamp_stream = bitstamp.StreamParser(bitstamp_t.NAMES)
STREAMS = [
    Target(
        "bitopro.parse",
        bitopro.parse,
        [bitopro_t.BALANCE_DOC, bitopro_t.ORDERS_DOC, bitopro_t.TRADE_DOC],
    ),
    Target(
        "coinw.parse",
        coinw.parse,
        [
            coinw_t.ASSETS_DOC,
            coinw_t.ORDER_DOC,
            '{"channel":"login","data":{"result":true}}',
            '{"event":"pong"}',
            '{"errorCode":"1003","errorMsg":"bad key"}',
        ],
    ),
    Target(
        "coinsph.parse",
        lambda frame: coinsph.parse(frame, coinsph_t.SYMBOLS),
        [
            coinsph_t.DOCS_POSITION,
            coinsph_t.SEED_ACCOUNT_INFO,
            coinsph_t.DOCS_BALANCE_UPDATE,
            coinsph_t.DOCS_EXECUTION,
            coinsph_t.SEED_EXECUTION,
            '{"e":"listenKeyExpired","E":1576653824250,"listenKey":"abc"}',
        ],
    ),
    Target(
        "bitstamp.StreamParser",
        _bitstamp_stream,
        [
            bitstamp_t.DOC_ORDER_CREATED,
            _j(bitstamp_t.CCXT_ORDER_CREATED),
            _j(bitstamp_t.CCXT_DELETED_AFTER_FILL),
            _j(bitstamp_t.CCXT_OLD_DELETED),
            _j(bitstamp_t.CCXT_TRADE),
            '{"event":"bts:heartbeat","channel":"","data":{"status":"success"}}',
            '{"event":"bts:request_reconnect","channel":"","data":""}',
            '{"event":"bts:error","channel":"","data":{"code":4009,"message":"Unauthorized"}}',
        ],
    ),
]
_BITZOOM_FRAMES = [
    bitzoom_t.LOGON_SUCCESS,
    bitzoom_t.SUB_ACK,
    bitzoom_t.PUSH,
    bitzoom_t.UNSUB_ACK,
    bitzoom_t.push("b1", [{"asset": "USDT", "walletBalance": "100", "availableBalance": "60"}]),
    bitzoom_t.push("b1", {"USDT": {"walletBalance": "100", "availableBalance": "60"}, "updateTime": 1}),
    bitzoom_t.push("b1", {"list": [{"currency": "usdt", "balance": "100", "free": "60"}]}),
    bitzoom_t.push("b1", [{"asset": "USDT", "free": "60", "locked": "40"}]),
    bitzoom_t.push("b1", [{"asset": "USDT", "balance": "100", "frozen": "40"}]),
    bitzoom_t.push("o1", [bitzoom_t.WS_ORDER], bitzoom.OPEN_ORDERS),
    bitzoom_t.push("o1", [bitzoom_t.REST_ORDER], bitzoom.OPEN_ORDERS),
]
STREAMS.append(
    Target("bitzoom.parse", lambda frame: bitzoom.parse(frame, bitzoom_t.SUBS, T), _BITZOOM_FRAMES)
)

# ---- REST bodies -------------------------------------------------------------------------------

_BITOPRO_ORDERS = _j({"data": json.loads(bitopro_t.ORDERS_DOC)["data"]["sol_usdt"]})
_BITOPRO_TRADES = (
    '{"data":[{"tradeId":"123","orderId":"9","price":"10","action":"BUY","baseAmount":"2","quoteAmount":"20",'
    '"fee":"0.002","feeSymbol":"btc","isTaker":true,"createdTimestamp":1700000000123}]}'
)
_BITOPRO_BALANCES = '{"data":[{"currency":"btc","amount":"1.5","available":"1","stake":"0","tradable":true}]}'


def _coinw(make: Callable[[object], object]) -> Callable[[str], object]:
    """A CoinW REST answer as its client reads it: the envelope, then its `data`."""
    return lambda body: make(coinw.envelope(body, "fuzz"))


def _bitzoom(make: Callable[[object], object]) -> Callable[[str], object]:
    return lambda body: make(bitzoom.rest_data(body))


_COINW_BALANCES = (
    '{"code":"200","data":{"BTC":{"available":"1.5","onOrders":"0.5"},"USDT":{"available":"7"}}}'
)
_COINW_SYMBOLS = '{"code":"200","data":[{"currencyPair":"BTC_USDT"},{"currencyPair":"ETH_BTC"}]}'
_BITSTAMP_BALANCES = _j(
    [
        {"currency": "usdt", "total": "7.00000", "available": "7.00000", "reserved": "0.00000"},
        {"currency": "btc", "total": "1.5", "available": "1.2", "reserved": "0.3"},
    ]
)
_BITSTAMP_ORDERS = _j(
    [
        {
            "id": "2814205012",
            "datetime": "2019-01-31 21:23:36",
            "type": "0",
            "price": "0.00008012",
            "amount": "15.00000000",
            "currency_pair": "XRP/BTC",
            "client_order_id": "",
        },
        {
            "id": 9007199254740993,
            "datetime": "2022-01-31 14:43:15",
            "type": 1,
            "price": "30000.00",
            "amount": "0.25000000",
            "amount_at_create": "1.00000000",
            "market": "BTC/USD",
        },
    ]
)
_BITSTAMP_FILLS = _j(
    [
        {
            "fee": "0.11128",
            "eth_usdt": 4451.25,
            "datetime": "2021-11-25 12:59:59.322000",
            "usdt": "-22.26",
            "order_id": 1429545880227846,
            "usd": 0,
            "eth": "0.00500000",
            "type": "2",
            "id": 209895701,
        },
        {"fee": "0.00000000", "btc_usd": "0.00", "id": 1234567894, "usd": 0, "btc": "-0.5", "type": "1"},
    ]
)
_COINSPH_ACCOUNT = _j(
    {
        "accountType": "SPOT",
        "balances": [
            {"asset": "PHP", "free": "100", "locked": "0.5"},
            {"asset": "APE", "free": "0", "locked": "0"},
        ],
        "updateTime": 1707273549694,
    }
)
_COINSPH_ORDERS = """[{"symbol":"BTCPHP","orderId":1241518645726809841,"clientOrderId":"x","price":"3000000.00000000",
"origQty":"0.01","executedQty":"0.004","cummulativeQuoteQty":"12000","status":"PARTIALLY_FILLED",
"timeInForce":"GTC","type":"LIMIT","side":"SELL","stopPrice":"0","time":1700000000000,
"updateTime":1700000001000,"isWorking":true,"origQuoteOrderQty":"0"}]"""
_COINSPH_TRADES = """[{"symbol":"BTCPHP","id":28457,"orderId":1241518645726809841,"price":"3000000","qty":"0.004",
"quoteQty":"12000","commission":"12","commissionAsset":"PHP","time":1700000000500,"isBuyer":false,
"isMaker":true,"isBestMatch":true}]"""
_BITZOOM_TRADES = _j(
    {
        "code": 0,
        "msg": "success",
        "data": {
            "total": 2,
            "list": [
                {
                    "id": 2**62 + 3,
                    "orderId": 42,
                    "symbol": "SOLUSDT",
                    "side": "SELL",
                    "price": "160",
                    "qty": "0.5",
                    "commission": "0.08",
                    "commissionAsset": "USDT",
                    "time": 1700000000123,
                },
                {
                    "tradeId": "t-2",
                    "symbol": "BTCUSDT",
                    "buyer": True,
                    "price": "60000",
                    "quantity": "0.01",
                    "time": 1700000001,
                },
            ],
        },
    }
)

RESTS = [
    Target("bitopro.rest_balances", lambda b: bitopro.rest_balances(b, T), [_BITOPRO_BALANCES]),
    Target("bitopro.rest_open_orders", lambda b: bitopro.rest_open_orders(b, T), [_BITOPRO_ORDERS]),
    Target("bitopro.rest_trades", lambda b: bitopro.rest_trades(b, "btc_usdt"), [_BITOPRO_TRADES]),
    Target("bitopro.rest_trading_pairs", bitopro.rest_trading_pairs, ['{"data":[{"pair":"btc_twd"}]}']),
    Target(
        "coinw.rest_balances",
        _coinw(lambda d: coinw.rest_balances(d, T)),
        [_COINW_BALANCES],
        (coinw.RestError,),
    ),
    Target(
        "coinw.rest_open_orders",
        _coinw(lambda d: coinw.rest_open_orders(d, "BTC/USDT")),
        [coinw_t.OPEN_ORDERS_DOC],
        (coinw.RestError,),
    ),
    Target(
        "coinw.rest_order_detail",
        _coinw(lambda d: coinw.rest_order_detail(d, None)),
        [coinw_t.ORDER_DETAILS_DOC],
        (coinw.RestError,),
    ),
    Target(
        "coinw.rest_user_trades",
        _coinw(lambda d: (coinw.rest_user_trades(d, "BTC/USDT"), coinw.trades_without_side(d))),
        [coinw_t.USER_TRADES_DOC],
        (coinw.RestError,),
    ),
    Target("coinw.rest_symbols", _coinw(coinw.rest_symbols), [_COINW_SYMBOLS], (coinw.RestError,)),
    Target("coinsph.rest_account", lambda b: coinsph.rest_account(b, T), [_COINSPH_ACCOUNT]),
    Target(
        "coinsph.rest_open_orders",
        lambda b: coinsph.rest_open_orders(b, coinsph_t.SYMBOLS, T),
        [_COINSPH_ORDERS],
    ),
    Target("coinsph.rest_trades", lambda b: coinsph.rest_trades(b, coinsph_t.SYMBOLS), [_COINSPH_TRADES]),
    Target(
        "coinsph.rest_symbols",
        lambda b: coinsph.rest_symbols(b).markets(),
        ['{"symbols":[{"symbol":"BTCPHP","baseAsset":"BTC","quoteAsset":"PHP"}]}'],
    ),
    Target(
        "coinsph.rest_listen_key", coinsph.rest_listen_key, ['{"listenKey":"pqia91ma19a5s61cv6a81va65sd"}']
    ),
    Target("coinsph.rest_server_time", coinsph.rest_server_time, ['{"serverTime":1538323200000}']),
    Target("coinsph.rest_error", coinsph.rest_error, ['{"code":-1022,"msg":"Signature is invalid"}']),
    Target("bitstamp.rest_balances", lambda b: bitstamp.rest_balances(b, T), [_BITSTAMP_BALANCES]),
    Target("bitstamp.rest_open_orders", lambda b: bitstamp.rest_open_orders(b, T), [_BITSTAMP_ORDERS]),
    Target("bitstamp.rest_fills", bitstamp.rest_fills, [_BITSTAMP_FILLS]),
    Target(
        "bitstamp.rest_token",
        bitstamp.rest_token,
        ['{"valid_sec":60,"token":"siPaT4m6VGQCdsDCVbLBemiphHQs552e","user_id":4848701}'],
    ),
    Target(
        "bitstamp.rest_trading_pairs",
        bitstamp.rest_trading_pairs,
        [
            '[{"name":"BTC/USD","url_symbol":"btcusd","market_type":"SPOT"},{"name":"X/Y","market_symbol":"xy"}]'
        ],
    ),
    Target(
        "bitstamp.rest_error",
        bitstamp.rest_error,
        ['{"status":"error","reason":"Invalid signature","code":"API0005"}'],
    ),
    Target("exchange.error_text", error_text, ['{"error":"Invalid signature"}', '{"msg":"x"}']),
    Target(
        "bitzoom.rest_balances",
        _bitzoom(lambda d: bitzoom.rest_balances(d, T)),
        [
            _j(
                {
                    "code": 0,
                    "msg": "success",
                    "data": {"BTC": {"asset": "BTC", "balance": "1.5", "free": "1", "locked": "0.5"}},
                }
            )
        ],
        (bitzoom.RestError,),
    ),
    Target(
        "bitzoom.rest_open_orders",
        _bitzoom(lambda d: bitzoom.rest_open_orders(d, T)),
        [
            bitzoom_t.OPENAPI_EXAMPLE.replace(
                '"data":null', '"data":' + _j([bitzoom_t.REST_ORDER, bitzoom_t.WS_ORDER])
            )
        ],
        (bitzoom.RestError,),
    ),
    Target("bitzoom.rest_trades", _bitzoom(bitzoom.rest_trades), [_BITZOOM_TRADES], (bitzoom.RestError,)),
]
TARGETS = STREAMS + RESTS
_ids = [t.name for t in TARGETS]


@pytest.mark.parametrize("target", TARGETS, ids=_ids)
def test_real_frames_parse(target: Target) -> None:
    """The seeds themselves are good input: a mutation of a frame the parser already refuses would
    test nothing."""
    for frame in target.frames:
        target.call(frame)


@pytest.mark.parametrize("target", TARGETS, ids=_ids)
@FUZZ
@given(data=st.data())
def test_random_json(target: Target, data: st.DataObject) -> None:
    holds(target.call, dumps(data.draw(json_values)), target.errors)


@pytest.mark.parametrize("target", TARGETS, ids=_ids)
@FUZZ
@given(data=st.data())
def test_mutated_real_frames(target: Target, data: st.DataObject) -> None:
    holds(target.call, data.draw(mutated(target.frames)), target.errors)


@pytest.mark.parametrize("target", TARGETS, ids=_ids)
@FUZZ
@given(data=st.data())
def test_corrupted_text(target: Target, data: st.DataObject) -> None:
    holds(target.call, data.draw(corrupted(target.frames)), target.errors)


@FUZZ
@given(
    st.lists(
        mutated(_BITZOOM_FRAMES) | corrupted(_BITZOOM_FRAMES) | st.sampled_from(_BITZOOM_FRAMES), max_size=5
    )
)
def test_bitzoom_multi_line_messages(lines: list[str]) -> None:
    """Several lines in one message: a bad one is a MalformedPart, never an exception for the rest."""
    holds(STREAMS[-1].call, "\n".join(lines))


@pytest.mark.parametrize("target", TARGETS, ids=_ids)
@pytest.mark.parametrize("depth", [10_000, 200_000])
def test_deep_nesting_is_a_typed_error(target: Target, depth: int) -> None:
    """json.loads raises RecursionError (not a ValueError) past ~1000 levels."""
    for opened, closed in (("[", "]"), ('{"a":', "}")):
        holds(target.call, opened * depth + "1" + closed * depth, target.errors)
        frame = target.frames[0].rstrip()
        member = ',"deep":' if frame.endswith("}") else ","
        holds(
            target.call,
            frame[:-1] + member + opened * depth + "0" + closed * depth + frame[-1],
            target.errors,
        )


# Inputs the fuzzing above found to break the parsers as merged (28f53c1), kept as plain cases.
_FOUND = [
    ("bitopro.parse", '{"event":"X","timestamp":"1e999999999"}'),  # int() of it stalled the stream
    ("bitopro.parse", '{"event":"X","timestamp":"abc"}'),  # decimal.InvalidOperation escaped
    (
        "bitopro.rest_balances",
        '{"data":[{"currency":"btc","amount":1E+1000000,"available":"1"}]}',
    ),  # Overflow
    ("bitopro.parse", "\ud800" + bitopro_t.BALANCE_DOC),  # UnicodeEncodeError from the msgspec fast path
    ("bitopro.parse", "[" * 10_000 + "]" * 10_000),  # RecursionError (msgspec and json alike)
    ("coinsph.rest_account", '{"balances":[{"asset":"PHP","free":-1,"locked":"0.5"}]}'),  # a negative balance
    ("coinsph.parse", '{"e":"NaN","E":false,"u":1}'),  # ValueError: an unknown event with a boolean time
    (
        "bitstamp.rest_fills",
        '[{"eth_usdt":-1,"datetime":"2021-11-25 12:59:59","eth":"1","order_id":1,"type":"2","id":2}]',
    ),
    ("bitzoom.parse", bitzoom_t.push("o1", [{**bitzoom_t.WS_ORDER, "price": -1}], bitzoom.OPEN_ORDERS)),
]


@pytest.mark.parametrize(("name", "text"), _FOUND)
def test_inputs_that_broke_a_parser(name: str, text: str) -> None:
    [target] = [t for t in TARGETS if t.name == name]
    try:
        result = target.call(text)
    except (MalformedFrame, *target.errors):
        return
    holds(target.call, text, target.errors)
    assert not any(isinstance(e, BalancesEvent | OrdersEvent) for e in result), result
