"""The live page in a real headless Chromium (Debian's chromium + chromium-driver, via selenium)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tests.conftest import wait_until

from .conftest import config, rtsp_stream

CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="pip install selenium (dev extra)")
    chromium = shutil.which("chromium")
    if chromium is None or shutil.which(CHROMEDRIVER) is None:
        pytest.skip("browser tests need Debian's chromium and chromium-driver: "
                    "apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=900,800"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options,
                              service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


def picture(element) -> np.ndarray:
    import cv2

    png = element.screenshot_as_png
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)


def test_live_page(serve, rtsp_server, tmp_path, browser):
    from selenium.webdriver.common.by import By

    served = serve(config(rtsp_stream("cam", rtsp_server.url, tmp_path)))
    served.wait_frames("cam", 5)
    browser.get(served.url + "/")
    card = '[data-stream="cam"]'
    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, f"{card} img.live[data-frames]"),
               15, "the first live frame on the page")
    img = browser.find_element(By.CSS_SELECTOR, f"{card} img.live")
    frames = int(img.get_attribute("data-frames"))
    first = picture(img)
    wait_until(lambda: int(img.get_attribute("data-frames")) >= frames + 10, 15,
               "10 more live frames")
    second = picture(img)
    assert first.shape == second.shape and first.shape[0] >= 100
    assert np.abs(first.astype(int) - second.astype(int)).max() > 50  # the ball moved

    def stat(key: str) -> str:
        return browser.find_element(By.CSS_SELECTOR, f'{card} dd[data-key="{key}"]').text

    wait_until(lambda: stat("fps out") not in ("", "n/a", "0.0"), 15, "fps out on the page")
    assert float(stat("fps in")) > 0 and stat("latency p99").endswith(" ms")
    assert stat("provider") == "cpu" and float(stat("threshold")) > 0
    assert browser.find_element(By.CSS_SELECTOR, f"{card} .state").text == "running"

    browser.find_element(By.CSS_SELECTOR, f'{card} button[data-view="reference"]').click()
    wait_until(lambda: img.get_attribute("data-view") == "reference", 15, "the reference view")
    reference = picture(img)
    browser.save_screenshot(str(tmp_path / "serve.png"))
    assert (tmp_path / "serve.png").stat().st_size > 10_000
    # The reference background (no annotation label, the ball's position of the median frames)
    # is not the annotated frame.
    assert np.abs(reference.astype(int) - second.astype(int)).mean() > 1
