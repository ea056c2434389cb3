"""One report's whole life on a real server (gunicorn), in Chromium, through the pages as rendered.

A reporter sends it with two files and JavaScript off; a triager signs in with the code from their
authenticator, downloads every file and checks its SHA-256, triages it, notes and replies; the
reporter reads the reply with the receipt; an organization administrator adds a colleague through
the staff page, who sets up their account with the setup code and, once given access, reads the
older report; the registry links the report to an official whose dossier is prepared, signed off
by a second member and exported; someone with only an analyst's password is refused; the analyst
builds the aggregate report in three formats; the reporter deletes the report. Every step checks
what the person sees on the page.

The staff members made with the `portal` command (as an operator would) are the triager, the
organization and coalition administrators and the analyst; the newcomer is made through the page.
Each step is a subtest, so one broken step is reported without hiding the ones after it.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from tests.e2e.conftest import (
    Authenticator,
    download,
    main_text,
    new_page,
    sha256_of,
    sign_in_with_authenticator,
    staff_page,
)
from tests.live import STAFF_EMAIL, STAFF_PASSWORD, LivePortal, server_errors

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Page, expect  # noqa: E402

pytestmark = pytest.mark.slow  # production Argon2id on every sign-in and receipt

ORG_ADMIN = ("orgadmin@example.org", "org_admin", "organization admin's own long passphrase")
COALITION_ADMIN = ("coalition@example.org", "coalition_admin", "coalition admin's own long passphrase")
ANALYST = ("analyst@example.org", "analyst", "the analyst's own long passphrase")
NEWCOMER = "newcomer@example.org"
NEWCOMER_PASSWORD = "a newcomer's password of many words"
OFFICIAL = ("Lu Minghao", "卢明浩")  # fictional


def evidence_files(folder: Path) -> dict[str, Path]:
    """A chat export and a photo whose EXIF names the camera, as a reporter would attach them."""
    folder.mkdir()
    chat = folder / "wechat-export.txt"
    chat.write_text("[2025-10-03 22:14] 陌生人: We know where your parents live.\n" * 40, "utf-8")
    photo = folder / "door-photo.jpg"
    image = Image.new("RGB", (320, 240))
    image.putdata([(x % 256, y % 256, (x * y) % 256) for y in range(240) for x in range(320)])
    exif = Image.Exif()
    exif[0x010F] = "Journey test camera maker"  # Make
    exif[0x0110] = "Model that must not leave"  # Model
    image.save(photo, format="JPEG", quality=90, exif=exif)
    return {chat.name: chat, photo.name: photo}


def expected_clean_copy(path: Path) -> bytes:
    """The metadata-free copy the portal makes of an image, made here the same way."""
    from portal.reports.attachments import without_metadata

    cleaned = without_metadata(path.read_bytes())
    assert cleaned is not None
    return cleaned[0]


def fill_report(page: Page, base: str, narrative: str, files: list[Path]) -> str:
    """The report form as a person fills it in, JavaScript off; return the receipt shown."""
    page.goto(f"{base}/report")
    page.check("#tactic-THR-HARASS")
    page.check("#tactic-PHY-STALK")
    page.fill("#narrative", narrative)
    page.check("input[name=when_precision][value=month]")
    page.fill("#when_start", "2025-10")
    page.select_option("#province", "ON")
    page.fill("#city", "Toronto")
    page.check("input[name=target][value=me]")
    page.check("input[name=communities][value=uyghur]")
    page.check("input[name=perpetrators][value=prc_diplomat]")
    page.check("input[name=bounty][value=no]")
    page.check("input[name=impacts][value=fear]")
    page.set_input_files("#evidence", [str(path) for path in files])
    page.check("#consent_read")
    page.check("#consent_statistics")
    page.get_by_role("button", name="Send my report").click()
    receipt = page.locator("#receipt")
    if not receipt.count():
        raise AssertionError(f"no receipt after sending the report: {main_text(page)[:500]!r}")
    return receipt.inner_text().strip()


def open_with_receipt(page: Page, base: str, receipt: str) -> None:
    page.goto(f"{base}/follow-up")
    if page.get_by_role("button", name="Close my report").count():  # still open from before
        page.get_by_role("button", name="Close my report").click()
        page.goto(f"{base}/follow-up")
    page.fill("#receipt", receipt.replace(" ", "-"))  # any spacing or dashes are accepted
    page.get_by_role("button", name="Open my report").click()


def form_with(page: Page, button: str):  # noqa: ANN201 - Locator
    """The form a person finds by the button that sends it."""
    return page.locator("form").filter(has=page.get_by_role("button", name=button, exact=True))


def section(page: Page, heading_id: str):  # noqa: ANN201 - Locator
    """The part of a page under a heading: <section aria-labelledby=…>."""
    return page.locator(f"section[aria-labelledby='{heading_id}']")


def export_link(page: Page, kind: str):  # noqa: ANN201 - Locator
    """The link that exports in this format ("PDF", or "PDF (English)" where there are several)."""
    return page.locator("main").get_by_role("link", name=re.compile(rf"^{kind}\b")).first


def test_a_report_from_submission_to_deletion(browser, gunicorn_portal: LivePortal, tmp_path, subtests):
    portal = gunicorn_portal
    base = portal.url
    apps = {
        email: (password, Authenticator.from_uri(portal.add_staff(email, role, password)))
        for email, role, password in (ORG_ADMIN, COALITION_ADMIN, ANALYST)
    }
    apps[STAFF_EMAIL] = (STAFF_PASSWORD, Authenticator.from_uri(portal.otpauth_uri))

    pages: dict[str, Page] = {}
    took: dict[str, float] = {}

    @contextlib.contextmanager
    def step(name: str) -> Iterator[None]:
        """One step of the journey, reported on its own if it fails; its time is printed."""
        started = time.monotonic()
        try:
            with subtests.test(name):
                yield
        finally:
            took[name] = round(time.monotonic() - started, 1)

    def signed_in(email: str) -> Page:
        """That person's browser, signed in the first time it is needed (one sign-in each)."""
        if email not in pages:
            page = staff_page(browser)
            password, app = apps[email]
            sign_in_with_authenticator(page, base, email, password, app)
            pages[email] = page
        return pages[email]

    files = evidence_files(tmp_path / "evidence")
    narrative = f"A man from the consulate followed me home after the vigil and photographed my door. {secrets.token_hex(4)}"
    note = "Internal: the same car was seen at two other vigils."
    reply = "Thank you. We have read your report; a member of our team is looking into it."
    today = dt.datetime.now(dt.UTC).date()

    # --- the reporter sends it, JavaScript off ----------------------------------------------
    reporter = new_page(browser, javascript=False)
    reporter.set_default_timeout(15_000)
    receipt = fill_report(reporter, base, narrative, list(files.values()))
    assert re.fullmatch(r"\d{5}( \d{5}){4}", receipt), receipt
    reporter.get_by_role("button", name="I have saved my receipt").click()
    expect(reporter.locator("h1")).to_have_text("Thank you. What happens next")
    expect(reporter.locator("main")).to_contain_text("1-800-420-5805")

    # --- the triager signs in and opens it from the dashboard --------------------------------
    triager = signed_in(STAFF_EMAIL)
    expect(triager.locator("h1")).to_have_text("Reports")
    expect(triager.locator(".counters")).to_contain_text("1 new")
    row = triager.locator("table.reports tbody tr").filter(has_text=narrative[:40])
    expect(row).to_have_count(1)
    row.locator("td:first-child a").click()
    report_url = triager.url
    assert re.search(r"/staff/reports/\d+$", report_url), report_url
    expect(triager.locator(".narrative").first).to_have_text(narrative)

    with step("the triager downloads every file, each with its SHA-256"):
        evidence = section(triager, "h-files")
        for name, path in files.items():
            expected = sha256_of(path)
            link = evidence.get_by_role("link", name=name, exact=True)
            expect(link).to_have_count(1)
            # The page shows the hash the triager compares the download with.
            shown = evidence.locator("p", has=triager.get_by_role("link", name=name, exact=True)).locator("code")
            expect(shown).to_have_text(expected)
            got = download(triager, link)
            assert got.suggested_filename == name
            assert sha256_of(got.path()) == expected, name
        clean = download(triager, evidence.get_by_role("link", name="copy without metadata (location, camera)"))
        assert clean.suggested_filename == "door-photo-clean.jpg"
        clean_bytes = Path(clean.path()).read_bytes()
        assert hashlib.sha256(clean_bytes).hexdigest() == hashlib.sha256(expected_clean_copy(files["door-photo.jpg"])).hexdigest()
        with Image.open(io.BytesIO(clean_bytes)) as image:
            assert image.size == (320, 240) and not image.getexif()
        assert b"Model that must not leave" not in clean_bytes

    with step("the triager changes the status, triages, notes and replies"):
        triager.goto(report_url)
        status = form_with(triager, "Change status")
        status.locator("select").select_option("under_review")
        status.locator("textarea").fill("Reading it with the evidence.")
        status.locator("button[type=submit]").click()
        expect(triager.locator("main")).to_contain_text("Status changed.")
        expect(triager.locator("main")).to_contain_text("Reading it with the evidence.")

        record = form_with(triager, "Save triage record")
        for code in ("THR-HARASS", "PHY-STALK"):
            record.locator(f"input[name=tactics][value='{code}']").check()
        record.locator("select[name=severity]").select_option("medium")
        record.locator("select[name=credibility]").select_option("likely")
        record.locator("select[name=community]").select_option("uyghur")
        record.locator("select[name=province]").select_option("ON")
        record.locator("input[name=month]").fill("2025-10")
        record.locator("select[name=perpetrator_type]").select_option("prc_diplomat")
        record.locator("button[type=submit]").click()
        expect(triager.locator("main")).to_contain_text("Triage record saved.")
        record = form_with(triager, "Save triage record")
        expect(record.locator("input[name=tactics][value='THR-HARASS']")).to_be_checked()
        expect(record.locator("input[name=month]")).to_have_value("2025-10")
        expect(record.locator("select[name=credibility]")).to_have_value("likely")

        notes = form_with(triager, "Add note")
        notes.locator("textarea").fill(note)
        notes.locator("button[type=submit]").click()
        expect(triager.locator("main")).to_contain_text("Note added.")
        expect(section(triager, "h-notes")).to_contain_text(note)

        message = form_with(triager, "Send reply")
        message.locator("textarea").fill(reply)
        message.locator("button[type=submit]").click()
        expect(triager.locator("main")).to_contain_text("Your reply was sent.")
        expect(section(triager, "h-messages")).to_contain_text(reply)

    with step("the reporter reads the reply with the receipt"):
        open_with_receipt(reporter, base, receipt)
        reporter.wait_for_url(f"{base}/follow-up/report")
        page = reporter.locator("main")
        expect(page).to_contain_text("Under review")
        expect(page).to_contain_text("Never before this visit")
        expect(section(reporter, "h-messages")).to_contain_text(reply)
        expect(section(reporter, "h-messages")).to_contain_text("From the coalition")
        expect(section(reporter, "h-files")).to_contain_text("door-photo.jpg")
        assert note not in main_text(reporter)  # internal notes stay internal
        reporter.get_by_role("button", name="Close my report").click()

    with step("an organization administrator adds a colleague, who reads an older report"):
        admin = signed_in(ORG_ADMIN[0])
        admin.get_by_role("navigation", name="Staff").get_by_role("link", name="Staff", exact=True).click()
        expect(admin.locator("h1")).to_have_text("Staff of Coalition intake team")
        admin.fill("#email", NEWCOMER)
        role = admin.get_by_role("radio", name="Triager", exact=True)
        if role.count() != 1:
            raise AssertionError(f"no 'Triager' role to choose on /staff/admin/staff: {admin.locator('fieldset#role').inner_html()}")
        role.check()
        admin.get_by_role("button", name="Add", exact=True).click()
        expect(admin.locator("h1")).to_have_text(f"{NEWCOMER} was added")
        setup_code = admin.locator("#setup-code").inner_text().strip()
        assert len(setup_code) >= 20, setup_code

        newcomer = pages[NEWCOMER] = staff_page(browser)
        newcomer.goto(f"{base}/staff/login")
        newcomer.fill("#email", NEWCOMER)
        setup_field = newcomer.get_by_label(re.compile("setup code", re.IGNORECASE))
        (setup_field if setup_field.count() == 1 else newcomer.locator("#password")).fill(setup_code)
        newcomer.get_by_role("button", name="Sign in", exact=True).click()
        # An invited account sets up its authenticator with the setup code, before anything else.
        newcomer.wait_for_url(f"{base}/staff/enrol")
        expect(newcomer.locator(".qr svg")).to_be_visible()
        app = Authenticator.from_key_text(newcomer.locator(".totp-secret").inner_text())
        newcomer.fill("#code", app.code())
        newcomer.get_by_role("button", name="Confirm", exact=True).click()
        newcomer.wait_for_url(f"{base}/staff/password")
        expect(newcomer.locator("main")).to_contain_text("replace your setup code with a password of your own")
        if newcomer.locator("#current_password").count():
            newcomer.fill("#current_password", setup_code)
        newcomer.fill("#new_password", NEWCOMER_PASSWORD)
        newcomer.fill("#confirm", NEWCOMER_PASSWORD)
        newcomer.get_by_role("button", name="Change password").click()
        newcomer.wait_for_url(f"{base}/staff/")
        expect(newcomer.locator("main")).to_contain_text("Your password was changed.")
        older = newcomer.locator("table.reports tbody tr")
        expect(older).to_have_count(1)
        expect(older).to_contain_text("No key yet")

        admin.goto(f"{base}/staff/admin/staff")
        member = admin.locator("table.reports tbody tr").filter(has_text=NEWCOMER)
        expect(member).to_contain_text("Active")
        expect(member.locator("td").nth(3)).to_have_text("1")
        member.get_by_role("button", name="Grant access to older reports").click()
        expect(admin.locator("#grant-progress")).to_contain_text("1 report granted so far.")
        expect(admin.locator("#grant-progress")).to_contain_text("Done.")

        newcomer.reload()
        row = newcomer.locator("table.reports tbody tr")
        expect(row).to_contain_text(narrative[:40])
        row.locator("td:first-child a").click()
        expect(newcomer.locator(".narrative").first).to_have_text(narrative)
        expect(section(newcomer, "h-notes")).to_contain_text(note)

    with step("the registry: a person, a link, a dossier signed off by a second member, exported"):
        coalition = signed_in(COALITION_ADMIN[0])
        coalition.get_by_role("link", name="Registry", exact=True).click()
        adding = form_with(coalition, "Add")
        adding.locator("#name_latin").fill(OFFICIAL[0])
        adding.locator("#name_chinese").fill(OFFICIAL[1])
        adding.locator("#title").fill("Consul (fictional)")
        adding.locator("#status").select_option("consular")
        adding.locator("#requested_action").select_option("persona_non_grata")
        adding.get_by_role("button", name="Add").click()
        expect(coalition.locator("main")).to_contain_text("Added to the registry.")
        expect(coalition.locator("h1")).to_contain_text(f"{OFFICIAL[0]} {OFFICIAL[1]}")
        person_url = coalition.url

        triager.goto(report_url)
        triager.fill("#person-query", OFFICIAL[1][:2])
        triager.get_by_role("search").get_by_role("button", name="Search").click()
        linking = form_with(triager, "Link")
        linking.get_by_label(re.compile(OFFICIAL[0])).check()
        linking.locator("select[name=involvement]").select_option("directly_carried_out")
        linking.locator("select[name=confidence]").select_option("likely")
        linking.locator("select[name=basis]").select_option("reporter_identified")
        linking.get_by_role("button", name="Link").click()
        expect(triager.locator("main")).to_contain_text("Link saved.")
        expect(triager.get_by_role("link", name=f"{OFFICIAL[0]} {OFFICIAL[1]}")).to_have_attribute(
            "href", person_url.removeprefix(base)
        )

        coalition.goto(person_url)
        expect(coalition.locator("main")).to_contain_text("1 reported incident is linked")
        coalition.get_by_role("button", name="Ask for sign-off of this version").click()
        expect(coalition.locator("main")).to_contain_text("Version 1 is ready for a second staff member's sign-off.")
        expect(coalition.get_by_role("button", name="Sign off this version")).to_have_count(0)  # not by the preparer

        admin = signed_in(ORG_ADMIN[0])
        admin.goto(person_url)
        expect(admin.locator("main")).to_contain_text("waiting for a second staff member's sign-off")
        admin.get_by_role("button", name="Sign off this version").click()
        expect(admin.locator("main")).to_contain_text("Signed off. The dossier can now be exported.")

        pdf = Path(download(admin, export_link(admin, "PDF")).path()).read_bytes()
        assert pdf.startswith(b"%PDF-")
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
        assert OFFICIAL[0] in text
        html = Path(download(admin, export_link(admin, "HTML")).path()).read_text("utf-8")
        assert OFFICIAL[0] in html and OFFICIAL[1] in html
        assert narrative not in html  # the reporter did not consent to more than statistics

    with step("a first sign-in of an account made with the command line needs its code"):
        stranger = staff_page(browser)
        stranger.goto(f"{base}/staff/login")
        stranger.fill("#email", ANALYST[0])
        stranger.fill("#password", ANALYST[2])  # the password alone, as if someone had learned it
        stranger.get_by_role("button", name="Sign in", exact=True).click()
        expect(stranger.get_by_role("alert")).to_have_text("The email, password or code is not right.")
        assert stranger.url == f"{base}/staff/login", stranger.url
        stranger.context.close()

    with step("an analyst builds the aggregate report and downloads HTML, CSV and PDF"):
        analyst = signed_in(ANALYST[0])
        expect(analyst.locator("main")).to_contain_text("aggregate statistics only")
        assert narrative[:40] not in main_text(analyst)
        analyst.get_by_role("link", name="Statistics", exact=True).click()
        analyst.fill("#since", f"{today.year - 1}-01-01")
        analyst.fill("#until", today.isoformat())
        analyst.get_by_role("button", name="Show").click()
        expect(analyst.locator("main table").first).to_be_visible()
        shown = main_text(analyst)
        assert narrative[:40] not in shown

        html = Path(download(analyst, export_link(analyst, "HTML")).path()).read_text("utf-8")
        assert "<table" in html and narrative[:40] not in html
        rows = list(csv.reader(io.StringIO(
            Path(download(analyst, export_link(analyst, "CSV")).path()).read_text("utf-8-sig")
        )))
        assert len(rows) > 1 and all(narrative[:40] not in cell for row in rows for cell in row)
        pdf = Path(download(analyst, export_link(analyst, "PDF")).path()).read_bytes()
        assert pdf.startswith(b"%PDF-")
        assert len(PdfReader(io.BytesIO(pdf)).pages) >= 1

    with step("the reporter deletes the report with the receipt"):
        open_with_receipt(reporter, base, receipt)
        reporter.wait_for_url(f"{base}/follow-up/report")
        # The previous visit shows, so a reporter can notice someone else using the receipt.
        expect(reporter.locator("main")).to_contain_text(today.isoformat())
        reporter.get_by_role("link", name="Delete my report…").click()
        reporter.check("#confirm")
        reporter.get_by_role("button", name="Delete my report now").click()
        expect(reporter.locator("h1")).to_have_text("Your report is gone")
        open_with_receipt(reporter, base, receipt)
        assert reporter.url == f"{base}/follow-up", reporter.url
        assert narrative not in reporter.content()

        triager.goto(f"{base}/staff/")
        expect(triager.locator("table.reports tbody tr").filter(has_text=narrative[:40])).to_have_count(0)
        assert triager.goto(report_url).status == 404

    print("journey steps (s):", took)
    assert "Traceback" not in portal.log_file.read_text(errors="replace"), server_errors(portal)
    for page in (reporter, *pages.values()):
        assert page.csp_violations == [], page.url  # type: ignore[attr-defined]
