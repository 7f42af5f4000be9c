// streamcd live page: one card per stream, a WebSocket of JPEG frames each, stats every second.
"use strict";

const cards = new Map(); // stream name -> {el, view, ws}

function fmt(value, digits, unit) {
  return value === null || value === undefined ? "n/a" : value.toFixed(digits) + (unit || "");
}

function card(stream) {
  if (cards.has(stream.name)) return cards.get(stream.name);
  const el = document.getElementById("card").content.firstElementChild.cloneNode(true);
  el.dataset.stream = stream.name;
  el.querySelector(".name").textContent = stream.name;
  const c = { el: el, view: "annotated", ws: null };
  el.querySelectorAll(".views button").forEach(function (button) {
    button.addEventListener("click", function () {
      c.view = button.dataset.view;
      el.querySelectorAll(".views button").forEach(function (b) {
        b.setAttribute("aria-pressed", String(b === button));
      });
    });
  });
  document.getElementById("streams").appendChild(el);
  cards.set(stream.name, c);
  connect(stream.name, c);
  return c;
}

// Ask for one picture of the current view; ask again only once it is shown (newest only).
function connect(name, c) {
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const base = location.pathname.replace(/[^/]*$/, "");
  const ws = new WebSocket(scheme + location.host + base + "live/" + encodeURIComponent(name));
  ws.binaryType = "blob";
  c.ws = ws;
  const img = c.el.querySelector("img.live");
  let asked = null;
  function ask() { asked = c.view; ws.send(asked); }
  ws.onopen = ask;
  ws.onmessage = function (msg) {
    if (typeof msg.data === "string") return; // "waiting": no new frame yet
    const url = URL.createObjectURL(msg.data);
    img.onload = function () {
      URL.revokeObjectURL(url);
      img.dataset.view = asked;
      img.dataset.frames = String(Number(img.dataset.frames || 0) + 1);
      ask();
    };
    img.onerror = function () { URL.revokeObjectURL(url); ask(); };
    img.src = url;
  };
  ws.onclose = function () { setTimeout(function () { connect(name, c); }, 2000); };
}

function stats(c, s) {
  const st = s.stats || {};
  const rows = [
    ["fps in", fmt(st.fps_in, 1)], ["fps out", fmt(st.fps_out, 1)],
    ["latency p50", fmt(st.latency_p50_ms, 0, " ms")], ["latency p99", fmt(st.latency_p99_ms, 0, " ms")],
    ["frames", st.frames === undefined ? "n/a" : String(st.frames)],
    ["dropped", st.dropped === undefined ? "n/a" : String(st.dropped)],
    ["reconnects", st.reconnects === undefined ? "n/a" : String(st.reconnects)],
    ["threshold", fmt(s.threshold, 3)], ["provider", document.body.dataset.provider || "n/a"],
    ["viewers", String(s.viewers)],
  ];
  const dl = c.el.querySelector("dl.stats");
  dl.replaceChildren();
  rows.forEach(function (row) {
    const dt = document.createElement("dt"); dt.textContent = row[0];
    const dd = document.createElement("dd"); dd.textContent = row[1];
    dd.dataset.key = row[0];
    dl.append(dt, dd);
  });
  const state = c.el.querySelector(".state");
  state.textContent = s.state + (s.reason ? ": " + s.reason : "");
  state.className = "state badge " + (s.ok ? "ok" : "bad");
  const ol = c.el.querySelector("ol.events");
  ol.replaceChildren();
  if (!s.events.length) {
    const li = document.createElement("li");
    li.className = "none";
    li.textContent = "none yet (disconnects, reconnects, gaps, background re-inits show here)";
    ol.appendChild(li);
  }
  s.events.forEach(function (e) {
    const li = document.createElement("li");
    li.textContent = new Date(e.time * 1000).toLocaleTimeString() + " " + e.kind + " " + e.detail;
    ol.appendChild(li);
  });
}

async function refresh() {
  try {
    const response = await fetch("api/streams", { cache: "no-store" });
    if (!response.ok) throw new Error(response.status + " " + (await response.text()));
    const data = await response.json();
    document.body.dataset.provider = data.provider;
    document.getElementById("provider").textContent = "provider " + data.provider;
    const bad = data.streams.filter(function (s) { return !s.ok; }).length;
    const health = document.getElementById("health");
    health.textContent = bad ? bad + " stream(s) not running" : "all streams running";
    health.className = "badge " + (bad ? "bad" : "ok");
    data.streams.forEach(function (s) { stats(card(s), s); });
  } catch (err) {
    document.getElementById("health").textContent = "no answer: " + err.message;
  }
}

refresh();
setInterval(refresh, 1000);
