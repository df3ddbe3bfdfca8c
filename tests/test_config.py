"""The accounts file: round trip, and one clear line for each way it can be wrong."""

import pytest

from streams.config import AccountConfig, ConfigError, load_config, save_config


def test_missing_file_is_no_accounts(tmp_path):
    assert load_config(tmp_path / "none.toml") == []


def test_round_trip(tmp_path):
    path = tmp_path / "sub" / "accounts.toml"
    accounts = [
        AccountConfig("main", "bitopro", "BitoPro main"),
        AccountConfig("b", "bitstamp", "", "ws://127.0.0.1:1/", "http://127.0.0.1:2/", ("BTC/USD",)),
    ]
    save_config(path, accounts)
    assert load_config(path) == accounts
    assert "secret" not in path.read_text()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[account]\nid=", "not valid TOML"),
        ('[[account]]\nid="a"\nexchange="kraken"\n', "unknown exchange 'kraken'"),
        (
            '[[account]]\nid="a"\nexchange="bitopro"\n[[account]]\nid="a"\nexchange="coinw"\n',
            "'a' is used twice",
        ),
        ('[[account]]\nexchange="bitopro"\n', "needs an 'id'"),
        ('[[account]]\nid="a"\nexchange="bitopro"\napi_secret="x"\n', "unknown setting(s) api_secret"),
        ('[[account]]\nid="a"\nexchange="bitopro"\nmarkets="BTC/USDT"\n', "'markets' must be a list"),
        ("account = 1\n", "array of tables"),
    ],
)
def test_bad_files_name_the_file_and_the_fix(tmp_path, text, message):
    path = tmp_path / "accounts.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(path) in str(error.value) and message in str(error.value)
