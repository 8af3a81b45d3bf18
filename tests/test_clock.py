"""The project's clock: real time, or moved by TRIAGE_CLOCK for every process of a run."""

from datetime import UTC, datetime, timedelta

import pytest

from triage import clock
from triage.errors import ConfigError


def test_without_the_variable_the_clock_is_the_real_time(monkeypatch):
    monkeypatch.delenv(clock.VARIABLE, raising=False)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=1)


def test_a_pinned_clock_reads_its_instant_plus_the_real_time_elapsed_since_the_pin(monkeypatch):
    an_hour_ago = datetime.now(UTC).timestamp() - 3600
    monkeypatch.setenv(clock.VARIABLE, clock.pin("2027-01-02T10:00:00Z", at=an_hour_ago))
    assert abs(clock.now() - datetime(2027, 1, 2, 11, 0, tzinfo=UTC)) < timedelta(seconds=1)
    assert clock.now().tzinfo is not None


@pytest.mark.parametrize("value", ["demain", "2027-01-02T10:00:00", "2027-01-02T10:00:00Z@hier"])
def test_a_wrong_clock_setting_says_what_is_expected(monkeypatch, value):
    monkeypatch.setenv(clock.VARIABLE, value)
    with pytest.raises(ConfigError, match="TRIAGE_CLOCK"):
        clock.now()


@pytest.mark.parametrize(("instant", "year"), [
    (datetime(2026, 12, 31, 22, 59, tzinfo=UTC), 2026),   # 23:59 in Paris
    (datetime(2026, 12, 31, 23, 0, tzinfo=UTC), 2027),    # midnight in Paris
    (datetime(2027, 6, 30, 21, 59, tzinfo=UTC), 2027),
])
def test_the_year_of_a_case_is_the_year_in_paris(instant, year):
    assert clock.paris_year(instant) == year
