"""The pages in a real browser: log in, upload a rubric and a batch and watch it finish, open
the review queue, override a group, turn corrections into examples, dry-run and apply the
regrade, open a student's page; hostile answers render as text. Screenshots are saved.

The tests of this module run in order against one service (each step builds on the last)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import WAIT, Service, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HERE = Path(__file__).parent
HOSTILE = '<script>alert("x")</script><img src=x onerror="alert(1)"> ReLU'
# Students: a few settled answers, two identical flagged ones (one group), a hostile one.
SHEETS = [
    ("alice", "ReLU", "The derivative of relu is 1 when x > 0 so the gradient does not shrink."),
    ("bob", "rectified linear unit", "relu gradient vanishing sigmoid derivative layers"),
    ("carol", "ReLU", "relu gradient vanishing sigmoid derivative layers"),
    ("dave", "sigmoid", "It does not saturate for positive values unlike sigmoid."),
    ("erin", "ReLU", "Its derivative is one for positive inputs, so gradients keep their size."),
    ("mallory", HOSTILE, HOSTILE + " Der Gradient verschwindet nicht."),
]


def _csv(tmp: Path) -> Path:
    import csv

    path = tmp / "sheets.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["student_id", "q1", "q2"])
        w.writerows(SHEETS)
    return path


def _wait(driver: Any, condition: Any, timeout: float = WAIT) -> Any:
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # A page being replaced under the condition is "not yet", not a failure.
    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, timeout, 0.25, ignored).until(condition)


def _css(driver: Any, selector: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, selector)


def _all(driver: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(driver.find_elements(By.CSS_SELECTOR, selector))


def _login(driver: Any, service: Service, token: str) -> None:
    driver.delete_all_cookies()
    driver.get(service.base + "/ui/login")
    _css(driver, "#token").send_keys(token)
    _css(driver, "#login").click()
    _wait(driver, lambda d: "/ui/login" not in d.current_url)


@pytest.fixture(scope="module")
def people(service: Service) -> dict[str, str]:
    return {
        "instructor": service.token("instructor"),
        "mallory": service.token("student", "mallory"),
        "alice": service.token("student", "alice"),
    }


def test_login_rejects_a_bad_key_then_logs_in(
    browser: Any, service: Service, people: Any, shots: Path
) -> None:
    browser.get(service.base + "/ui/")
    assert "/ui/login" in browser.current_url  # not logged in: sent to the form
    _css(browser, "#token").send_keys("grd_nope_nope")
    _css(browser, "#login").click()
    assert "not valid" in _wait(browser, lambda d: _all(d, "[role=alert]"))[0].text
    screenshot(browser, shots, "login")
    _login(browser, service, people["instructor"])
    _wait(browser, lambda d: _css(d, "h1").text == "Exams")
    cookie = browser.get_cookie("grader_ui")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"


def test_rubric_check_shows_errors_with_lines_then_upload(
    browser: Any, service: Service, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: ui-demo\ntitle: t\nquestions:\n  - id: q1\n    points: -2\n")
    browser.get(service.base + "/ui/")
    _css(browser, "#rubric-file").send_keys(str(bad))
    _css(browser, "#rubric-check").click()
    report = _wait(browser, lambda d: _all(d, "#rubric-report"))[0].text
    assert "questions.0.points" in report and re.search(r"\b5\b", report)  # the line
    _css(browser, "#rubric-file").send_keys(str(HERE / "rubric.yaml"))
    _css(browser, "#rubric-upload").click()
    # Stored, with the self-test's warning (its text criterion gives the model answer less
    # than full credit) and its line; the page links to the exam.
    _wait(browser, lambda d: _all(d, "#rubric-stored"))
    cells = [td.text for td in _all(browser, "#rubric-warnings td")]
    assert cells[0] == "18" and cells[1].startswith("q2: the model answer scores")
    _css(browser, "#rubric-stored a").click()
    _wait(browser, lambda d: d.current_url.endswith("/ui/exams/ui-demo"))
    assert "Activation functions" in _css(browser, "h1").text


def test_batch_upload_progress_finishes(
    browser: Any, service: Service, tmp_path: Path, shots: Path
) -> None:
    _css(browser, "#batch-file").send_keys(str(_csv(tmp_path)))
    _css(browser, "#batch-upload").click()
    _wait(browser, lambda d: "queued" in _css(d, "#flash").text)
    # The page's script polls the batch; the cell says `completed` when every sheet is done.
    _wait(
        browser,
        lambda d: any(
            c.get_attribute("data-status") == "completed" for c in _all(d, "[data-progress-url]")
        ),
    )
    browser.refresh()  # statistics are drawn once the batch is graded
    assert _all(browser, "#statistics svg rect")  # a histogram, drawn on the server
    screenshot(browser, shots, "exam")


def _make_uncertain(service: Service, students: list[str]) -> None:
    """Whatever the grader of the day decides, these students' q2 wait for review (as a
    text checker unsure of them would say), so the review steps below always have work."""
    import json

    from sqlalchemy import select

    from grader.store import Database
    from grader.store.models import Submission

    db = Database(f"sqlite:///{service.env['GRADER_DATA_DIR']}/grader.sqlite3")
    with db.session() as s:
        for row in s.scalars(select(Submission).where(Submission.student_id.in_(students))):
            result = json.loads(json.dumps(row.result))
            q2 = next(q for q in result["questions"] if q["id"] == "q2")
            if q2["needs_review"]:
                continue
            q2["criteria"][0].update(status="needs_review", confidence=0.3)
            q2["needs_review"] = result["needs_review"] = True
            row.result, row.needs_review = result, True
    db.dispose()


def test_review_queue_and_group_override(browser: Any, service: Service, shots: Path) -> None:
    _make_uncertain(service, ["bob", "carol", "mallory", "dave"])
    _css(browser, "#open-review").click()
    _wait(browser, lambda d: "/review" in d.current_url and _all(d, "h1"))
    assert _all(browser, ".item"), "the seeded sheets include answers the grader is unsure of"
    assert _all(browser, "table.criteria")  # each answer with its criteria's verdicts
    screenshot(browser, shots, "review")
    group = next(
        g for g in _all(browser, "article.group") if g.find_elements("css selector", ".group-form")
    )
    form = group.find_element("css selector", ".group-form form")
    form.find_element("css selector", "input[name=score]").send_keys("2")
    form.find_element("css selector", "input[name=reason]").send_keys("keyword list: half")
    form.find_element("css selector", "button").click()
    _wait(browser, lambda d: "Saved for 2 answer(s)" in _css(d, "#flash").text)


def test_hostile_answer_renders_as_text(browser: Any, service: Service) -> None:
    browser.get(service.base + "/ui/exams/ui-demo/review")
    (link,) = [a for a in _all(browser, ".item .meta a") if a.text == "mallory"]
    browser.get(link.get_attribute("href"))
    _wait(browser, lambda d: _all(d, "#q-q1 .answer"))
    assert HOSTILE in _css(browser, "#q-q1 .answer").text  # shown, as text
    scripts = [s.get_attribute("src") or "inline" for s in _all(browser, "script")]
    assert all(s.endswith("/ui/static/ui.js") for s in scripts), scripts
    assert not _all(browser, "img"), "no element came from the student's text"


def test_corrections_become_examples_and_regrade_applies(
    browser: Any, service: Service, shots: Path
) -> None:
    browser.get(service.base + "/ui/exams/ui-demo/review?question=q2")
    _css(browser, "#review-q2 .make-examples").click()
    _wait(browser, lambda d: _all(d, "#examples-result"))
    if _all(browser, "#force-examples"):  # the self-test held them back: teach anyway
        _css(browser, "#force-examples").click()
    _wait(browser, lambda d: "example(s) added" in _css(d, "#examples-result").text)
    _css(browser, "#dry-run").click()
    _wait(browser, lambda d: "/ui/regrades/" in d.current_url)
    # The page reloads itself while workers regrade; then the diff and the apply button.
    _wait(browser, lambda d: _all(d, "#apply-regrade"))
    screenshot(browser, shots, "regrade")
    _css(browser, "#apply-regrade").click()
    _wait(browser, lambda d: "applied" in _css(d, "#regrade-status").text)


def test_student_sees_only_their_own_feedback(
    browser: Any, service: Service, people: Any, shots: Path
) -> None:
    _login(browser, service, people["mallory"])
    rows = _wait(browser, lambda d: _all(d, "#submissions tbody a"))
    assert len(rows) == 1
    rows[0].click()
    _wait(browser, lambda d: "/ui/submissions/" in d.current_url)
    own = browser.current_url
    assert "mallory" in _css(browser, "h1").text
    assert HOSTILE in _css(browser, "#q-q1 .answer").text and not _all(browser, "img")
    assert not _all(browser, "form.override"), "students cannot override"
    assert "Confidence" not in browser.page_source
    screenshot(browser, shots, "feedback")
    _login(browser, service, people["alice"])
    browser.get(own)  # another student's submission: not found, nothing of it shown
    _wait(browser, lambda d: "404" in _css(d, "h1").text) and "mallory" not in browser.page_source
