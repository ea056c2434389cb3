"""Evidence files of 1 KB to 50 MB come back byte for byte from a real server, in a real browser.

A reporter attaches a text file, a photo, a PDF and a 50 MB voicemail (WAV) with JavaScript off;
a triager signs in, downloads each original from the report page and compares its SHA-256 with
the file sent and with the hash the page shows. While the 50 MB file streams, the resident memory
of the server's workers (from /proc/<pid>/status) must stay far below the file's size: the file is
decrypted and sent chunk by chunk, never held whole.
"""

from __future__ import annotations

import os
import threading
import time
import wave
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    Authenticator,
    download,
    main_text,
    new_page,
    sha256_of,
    sign_in_with_authenticator,
    staff_page,
)
from tests.live import (
    STAFF_EMAIL,
    STAFF_PASSWORD,
    LivePortal,
    reset_peak_resident,
    resident_kib,
    server_errors,
    worker_pids,
)

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.slow

MIB = 1024 * 1024
LARGEST = 50 * MIB  # the portal's default largest evidence file (PORTAL_MAX_FILE_BYTES)
#: How much a worker may grow while streaming the largest file: a small fraction of it.
STREAMING_HEADROOM_KIB = 16 * 1024


def text_file(folder: Path) -> Path:
    path = folder / "threat-message.txt"
    line = "你的家人在我们手里。Stop posting or they will suffer.\n".encode()
    path.write_bytes((line * (1024 // len(line) + 1))[:1024])  # exactly 1 KiB
    return path


def photo(folder: Path) -> Path:
    from PIL import Image

    path = folder / "car-outside.png"
    Image.frombytes("RGB", (1000, 1000), os.urandom(3 * 1000 * 1000)).save(path, format="PNG")
    return path


def letter_pdf(folder: Path) -> Path:
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    path = folder / "consulate-letter.pdf"
    page = canvas.Canvas(str(path))
    page.drawString(72, 770, "A letter delivered to my parents (test document).")
    noise = Image.frombytes("RGB", (1200, 1200), os.urandom(3 * 1200 * 1200))  # does not compress
    page.drawImage(ImageReader(noise), 72, 72, width=450, height=450)
    page.save()
    return path


def voicemail(folder: Path, size: int = LARGEST) -> Path:
    """A WAV file of exactly ``size`` bytes: a 44-byte header and 16-bit mono samples."""
    path = folder / "voicemail.wav"
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(44_100)
        remaining = size - 44
        while remaining:
            block = min(remaining, 4 * MIB)
            audio.writeframes(os.urandom(block))
            remaining -= block
    assert path.stat().st_size == size
    return path


class PeakMemory:
    """The most each server worker's resident memory grew above where it was at the start."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.start = {pid: resident_kib(pid) for pid in pids}
        # The kernel's own high-water mark, started afresh, misses nothing between samples.
        self.kernel_peak = all(reset_peak_resident(pid) for pid in pids)
        self.sampled = dict(self.start)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            for pid in self.pids:
                self.sampled[pid] = max(self.sampled[pid], resident_kib(pid))

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def growth_kib(self) -> int:
        def peak(pid: int) -> int:
            sampled = self.sampled[pid]
            return max(sampled, resident_kib(pid, "VmHWM")) if self.kernel_peak else sampled

        return max(peak(pid) - self.start[pid] for pid in self.pids)


def test_every_original_comes_back_exactly_and_streaming_keeps_memory_bounded(
    browser, gunicorn_portal: LivePortal, tmp_path
):
    portal = gunicorn_portal
    folder = tmp_path / "evidence"
    folder.mkdir()
    files = [text_file(folder), photo(folder), letter_pdf(folder), voicemail(folder)]
    sizes = [path.stat().st_size for path in files]
    assert min(sizes) == 1024 and max(sizes) == LARGEST

    reporter = new_page(browser, javascript=False)
    reporter.set_default_timeout(120_000)
    reporter.goto(f"{portal.url}/report")
    reporter.check("#tactic-THR-VIOL")
    reporter.fill("#narrative", "Threats by message, a letter to my parents and a voicemail.")
    reporter.set_input_files("#evidence", [str(path) for path in files])
    reporter.check("#consent_read")
    reporter.get_by_role("button", name="Send my report").click()
    assert reporter.locator("#receipt").count() == 1, main_text(reporter)[:500]

    triager = staff_page(browser)
    sign_in_with_authenticator(
        triager, portal.url, STAFF_EMAIL, STAFF_PASSWORD, Authenticator.from_uri(portal.otpauth_uri)
    )
    triager.locator("table.reports tbody tr td:first-child a").first.click()
    evidence = triager.locator("section[aria-labelledby='h-files']")

    timings = {}
    for path in files:  # smallest first: the workers are warm before the largest streams
        expected = sha256_of(path)
        link = evidence.get_by_role("link", name=path.name, exact=True)
        shown = evidence.locator("p", has=triager.get_by_role("link", name=path.name, exact=True)).locator("code")
        expect(shown).to_have_text(expected)
        started = time.monotonic()
        if path.stat().st_size == LARGEST:
            with PeakMemory(worker_pids(portal)) as memory:
                got = download(triager, link, timeout=120)
                saved = got.path()  # waits until the whole file has arrived
        else:
            got = download(triager, link, timeout=120)
            saved = got.path()
        timings[path.name] = time.monotonic() - started
        assert got.suggested_filename == path.name
        assert Path(saved).stat().st_size == path.stat().st_size, path.name
        assert sha256_of(saved) == expected, path.name

    growth = memory.growth_kib()
    print(f"downloads (s): {timings}; largest worker growth while streaming {LARGEST // MIB} MiB: {growth} KiB")
    assert growth < STREAMING_HEADROOM_KIB, f"a worker grew by {growth} KiB while streaming a {LARGEST // MIB} MiB file"
    assert "Traceback" not in portal.log_file.read_text(errors="replace"), server_errors(portal)
