"""The report in a real headless Chromium (Debian's chromium and chromium-driver, driven by
Selenium): loads from a file URL, filters, sorts, never runs a mail's script; screenshot
saved under artifacts/."""

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from tests.test_report import fill_store
from triage.report import write_report
from triage.rules import load_rules

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@pytest.fixture(scope="module")
def report_page(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    store = fill_store(f"sqlite:///{folder / 'store.db'}", folder)
    with store.transaction() as session:
        write_report(session, load_rules(), folder / "report", datetime(2026, 3, 9, 9, 0, tzinfo=UTC), [])
    store.dispose()
    return folder / "report" / "ddfip-07.html"


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    profile = tempfile.mkdtemp(prefix="chromium-")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,1000",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    yield driver
    driver.quit()


def visible_rows(browser, table_id):
    return [row for row in browser.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody tr") if row.is_displayed()]


def test_the_page_loads_from_a_file_and_runs_only_our_script(browser, report_page):
    browser.get(report_page.as_uri())
    assert browser.title.startswith("Dossiers SPL-PES - DDFIP de l'Ardèche")
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text
    assert browser.execute_script("return document.images.length") == 0, "no injected <img>"
    assert browser.execute_script("return document.scripts.length") == 1, "only our own script"
    assert "xss-xt" in browser.find_element(By.ID, "table-a-traiter").text
    assert "<script>alert('corps')</script>" in browser.find_element(By.ID, "table-a-traiter").text
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []
    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "report-ddfip-07.png"))


def test_the_filter_narrows_the_tables(browser, report_page):
    browser.get(report_page.as_uri())
    all_rows = len(visible_rows(browser, "table-a-traiter"))
    assert all_rows > 3
    field = browser.find_element(By.ID, "filtre")
    field.send_keys("xss-xt")
    rows = visible_rows(browser, "table-a-traiter")
    assert len(rows) == 1 and "xss-xt" in rows[0].text
    assert browser.find_element(By.ID, "compte").text == "1 ligne(s) affichée(s)"
    field.clear()
    field.send_keys("EXPIRE")  # case and accents do not matter
    expired = visible_rows(browser, "table-a-traiter")
    assert 1 <= len(expired) < all_rows and all("expiré" in row.text for row in expired)


def test_sorting_by_a_column_orders_the_rows(browser, report_page):
    browser.get(report_page.as_uri())
    header = browser.find_element(By.CSS_SELECTOR, "#table-a-traiter thead th:nth-child(1) button")
    header.click()
    first = [row.find_elements(By.TAG_NAME, "td")[0].text for row in visible_rows(browser, "table-a-traiter")]
    assert first == sorted(first)
    header.click()
    second = [row.find_elements(By.TAG_NAME, "td")[0].text for row in visible_rows(browser, "table-a-traiter")]
    assert second == sorted(first, reverse=True)
    cell = browser.find_element(By.CSS_SELECTOR, "#table-a-traiter thead th:nth-child(1)")
    assert cell.get_attribute("aria-sort") == "descending"


def test_without_javascript_everything_is_still_there(report_page):
    page = report_page.read_text(encoding="utf-8")
    assert 'id="filtres" hidden' in page, "the filter only appears when it works"
    assert page.count("<tr>") > 10
