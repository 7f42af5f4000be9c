"""Pipeline fps with 0 and with N concurrent live viewers of ``streamcd serve`` (target: >= 0.8x).

Runs the demo clip (assets/highway.mp4, looped ``--loops`` times into a temporary H.264 file)
through the pipeline with the live server beside it, as ``streamcd serve`` does, alternately
with no viewer and with ``--viewers`` WebSocket viewers of the annotated view (in a separate
process, so that their own work is not counted in the server's GIL), ``--rounds`` times each.
The stream's sink is a JSONL file (the lightest, so the viewers' cost weighs the most). Prints
fps per run, frames each viewer got, JPEG encodes, and the ratio of the medians.
``--screenshot PATH`` then opens the page in headless Chromium (selenium, Debian's
chromium-driver) and saves it. Not a test: run it by hand, with the machine load reported::

    uptime; .venv/bin/python benchmarks/serve_viewers.py --viewers 20 --rounds 3
    .venv/bin/python benchmarks/serve_viewers.py --rounds 1 --screenshot docs/serve.png
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import av

from streamcd.config import PipelineConfig
from streamcd.pipeline import Pipeline
from streamcd.serve import LiveHub
from streamcd.serve.app import DEFAULT_VIEW_FPS, create_app
from streamcd.serve.server import LiveServer

CLIP = REPO / "assets" / "highway.mp4"


def looped_clip(out: Path, loops: int) -> Path:
    """The demo clip ``loops`` times over, H.264 (ultrafast), for runs long enough to time."""
    with av.open(str(CLIP)) as src:
        frames = [f.to_ndarray(format="bgr24") for f in src.decode(video=0)]
    path = out / "looped.mp4"
    with av.open(str(path), "w") as dst:
        stream = dst.add_stream("libx264", rate=25, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        for _ in range(loops):
            for img in frames:
                dst.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")))
        dst.mux(stream.encode())
    return path


def config(clip: Path, out: Path) -> PipelineConfig:
    return PipelineConfig.model_validate({
        "model": {"provider": "cpu"},
        "streams": [{"name": "highway", "source": {"type": "video", "path": str(clip)},
                     "sinks": [{"type": "jsonl", "path": str(out / "events.jsonl")}]}]})


def _viewers(url: str, origin: str, n: int, stop, counts) -> None:
    """Process body: ``n`` WebSocket viewers asking for annotated frames until ``stop``."""
    from websockets.asyncio.client import connect

    async def one(i: int) -> None:
        async with connect(url, origin=origin, max_size=None) as ws:
            while not stop.is_set():
                await ws.send("annotated")
                while isinstance(message := await ws.recv(), str):  # "waiting"
                    if stop.is_set():
                        return
                counts[i] += len(message) > 0

    async def all_of_them() -> None:
        for error in await asyncio.gather(*(one(i) for i in range(n)), return_exceptions=True):
            if isinstance(error, Exception):
                print(f"viewer failed: {type(error).__name__}: {error}", file=sys.stderr)

    asyncio.run(all_of_them())


def run_once(cfg: PipelineConfig, viewers: int, view_fps: float) -> dict:
    hub = LiveHub([s.name for s in cfg.streams], provider="cpu")
    with LiveServer(create_app(hub, view_fps=view_fps), "127.0.0.1", 0) as server:
        # spawn, not fork: forking a process with model and server threads can deadlock.
        ctx = mp.get_context("spawn")
        stop, counts, proc = ctx.Event(), ctx.Array("i", max(viewers, 1)), None
        if viewers:
            ws_url = server.url.replace("http://", "ws://") + "/live/highway"
            proc = ctx.Process(target=_viewers, args=(ws_url, server.url, viewers, stop, counts))
            proc.start()
            deadline = time.monotonic() + 30
            while hub.feeds["highway"].watchers < viewers and time.monotonic() < deadline:
                time.sleep(0.05)
            if hub.feeds["highway"].watchers < viewers:
                raise SystemExit(f"only {hub.feeds['highway'].watchers} of {viewers} viewers "
                                 "connected in 30 s")
        cpu = time.process_time()
        report = Pipeline(cfg).run(observer=hub)
        cpu = time.process_time() - cpu
        stop.set()
        if proc is not None:
            proc.join(10)
            if proc.is_alive():
                proc.terminate()
        stream = report.streams[0]
        if stream.error:
            raise SystemExit(f"the run failed: {stream.error}")
        got = list(counts)[:viewers]
        return {"viewers": viewers, "fps": stream.fps, "frames": stream.frames,
                "encodes": hub.feeds["highway"].encodes, "cpu_s": cpu,
                "per_viewer": statistics.median(got) if got else 0}


def screenshot(cfg: PipelineConfig, path: Path) -> None:
    """Serve the clip, open the page in headless Chromium and save a picture of it."""
    from selenium import webdriver
    from selenium.webdriver.common.by import By

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--window-size=560,900"):
        options.add_argument(arg)
    hub = LiveHub([s.name for s in cfg.streams], provider="cpu")
    with LiveServer(create_app(hub), "127.0.0.1", 0) as server:
        stop = threading.Event()
        runner = threading.Thread(target=lambda: Pipeline(cfg).run(observer=hub, stop=stop))
        runner.start()
        driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(
            executable_path="/usr/bin/chromedriver"))
        try:
            driver.get(server.url + "/")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not driver.find_elements(
                    By.CSS_SELECTOR, "img.live[data-frames]"):
                time.sleep(0.1)
            time.sleep(15)  # the stats window (10 s) past the start, when the median holds frames
            driver.save_screenshot(str(path))
        finally:
            driver.quit()
            stop.set()
            runner.join()
    print(f"screenshot: {path}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--viewers", type=int, default=20)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--loops", type=int, default=4, help="times the 451-frame clip is repeated")
    p.add_argument("--view-fps", type=float, default=DEFAULT_VIEW_FPS,
                   help="most frames per second per viewer (streamcd serve --view-fps)")
    p.add_argument("--screenshot", type=Path, default=None, help="save the page here (PNG)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = config(looped_clip(Path(tmp), args.loops), Path(tmp))
        runs = []
        for r in range(args.rounds):
            for viewers in (0, args.viewers):
                runs.append(run_once(cfg, viewers, args.view_fps))
                x = runs[-1]
                print(f"round {r + 1}: {viewers:2d} viewers: {x['fps']:6.1f} fps "
                      f"({x['frames']} frames), {x['encodes']} JPEG encodes, "
                      f"{x['per_viewer']:.0f} frames per viewer, this process "
                      f"{x['cpu_s']:.1f} CPU s", flush=True)
        if not runs:  # --rounds 0: the screenshot only
            screenshot(cfg, args.screenshot) if args.screenshot is not None else None
            return
        base = statistics.median(x["fps"] for x in runs if x["viewers"] == 0)
        watched = statistics.median(x["fps"] for x in runs if x["viewers"] == args.viewers)
        print(f"median fps: 0 viewers {base:.1f}, {args.viewers} viewers {watched:.1f}, "
              f"ratio {watched / base:.2f} (target >= 0.80)")
        if args.screenshot is not None:
            screenshot(cfg, args.screenshot)


if __name__ == "__main__":
    main()
