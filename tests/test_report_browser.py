"""The report in a real headless Chromium (Debian's chromium and chromium-driver, driven by
Selenium): loads from a file URL, filters, sorts, never runs a mail's script, never breaks
a word inside a cell of a case's line, even in a narrow window; screenshot saved under
artifacts/."""

import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By

from tests.console.harness import chromium
from tests.test_report import fill_store
from triage.report import write_report
from triage.rules import load_rules

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
WIDE, NARROW = 1400, 1000  # window widths: the screenshot's, and a narrow office screen's


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
    driver = chromium(WIDE, 1000)
    yield driver
    driver.quit()


def visible_rows(browser, table_id):
    """The lines of the cases shown (each case: its line, then its folded details)."""
    return [row for row in browser.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody tr.ligne") if row.is_displayed()]


def fold(text):
    return unicodedata.normalize("NFD", text).encode("ascii", "ignore").decode().lower()


def test_the_page_loads_from_a_file_and_runs_only_our_script(browser, report_page):
    browser.set_window_size(WIDE, 1000)
    browser.get(report_page.as_uri())
    assert browser.title.startswith("Dossiers SPL-PES - DDFIP de l'Ardèche")
    (hostile,) = [row for row in visible_rows(browser, "table-a-traiter") if "xss-xt" in row.text]
    details = hostile.find_element(By.XPATH, "following-sibling::tr[1]")
    details.find_element(By.TAG_NAME, "summary").click()  # the excerpt is folded under the line
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text
    assert browser.execute_script("return document.images.length") == 0, "no injected <img>"
    assert browser.execute_script("return document.scripts.length") == 1, "only our own script"
    assert "<script>alert('corps')</script>" in details.text, "the mail's markup shows as text"
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
    assert 1 <= len(expired) < all_rows
    # a case is kept for its line or its folded details (reasons, excerpt): its whole <tbody>
    groups = [row.find_element(By.XPATH, "..").get_attribute("textContent") for row in expired]
    assert all("expire" in fold(group) for group in groups)
    details = browser.find_elements(By.CSS_SELECTOR, "#table-a-traiter tr.details")
    assert len([row for row in details if row.is_displayed()]) == len(expired), "details hide with their line"


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
    lines = page.count('<tr class="ligne">')
    assert lines > 10 and page.count('<tr class="details"><td colspan="9">\n<details>') == lines, \
        "every case's details are in the page, folded by the browser itself (<details>: no script)"


def test_the_reference_of_a_line_opens_its_details(browser, report_page):
    browser.get(report_page.as_uri())
    row = visible_rows(browser, "table-attente")[1]
    details = row.find_element(By.XPATH, "following-sibling::tr[1]//details")
    assert details.get_attribute("open") is None
    row.find_element(By.CSS_SELECTOR, "td.ref a").click()
    assert details.get_attribute("open") is not None
    assert "Motifs de la décision" in details.text and details.find_element(By.CSS_SELECTOR, ".extrait").is_displayed()


# The short columns of a case's line, and their heads: a reference, an age, a status, a
# kind, an identifier never wrap (the old report broke "Réf/ére/nce" in narrow columns).
SHORT_CELLS = ", ".join(f"table.file {cell}" for cell in (
    "td.ref", "td.age", "td.etat", "td.nature", "td.ident", "th"))
LINES_OF = """
    // How many lines each element's text takes: a wrapped text node has one rect per line.
    return arguments[0].map(function (cell) {
        var tops = [], walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT), node;
        while ((node = walker.nextNode())) {
            if (!node.textContent.trim()) { continue; }
            var range = document.createRange();
            range.selectNodeContents(node);
            Array.prototype.forEach.call(range.getClientRects(), function (rect) {
                if (rect.width > 0 && !tops.some(function (top) { return Math.abs(top - rect.top) < 3; })) {
                    tops.push(rect.top);
                }
            });
        }
        return [cell.textContent.trim(), tops.length];
    });
"""


@pytest.mark.parametrize("width", [NARROW, 800])
def test_no_word_is_broken_in_a_narrow_window(browser, report_page, width):
    browser.set_window_size(width, 1000)
    try:
        browser.get(report_page.as_uri())
        assert browser.execute_script("return window.innerWidth") <= width
        cells = browser.find_elements(By.CSS_SELECTOR, SHORT_CELLS)
        assert len(cells) > 100
        lines = browser.execute_script(LINES_OF, cells)
        assert [text for text, count in lines if count != 1] == []
        table = browser.find_element(By.ID, "table-a-traiter")
        box = table.find_element(By.XPATH, "..")
        assert box.get_attribute("class") == "defile"
        assert table.size["width"] > box.size["width"], "the table scrolls sideways instead"
        height = float(browser.execute_script("return parseFloat(getComputedStyle(document.body).lineHeight)"))
        tall = [row.text.split("\n")[0] for row in browser.find_elements(By.CSS_SELECTOR, "table.file tr.ligne")
                if row.size["height"] >= 2 * height]
        assert tall == [], "one line per case"
    finally:
        browser.set_window_size(WIDE, 1000)
