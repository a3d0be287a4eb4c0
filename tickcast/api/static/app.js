// The live page: Server-Sent Events from /stream, a canvas chart, the latest table, quality.
"use strict";
const MAX_POINTS = 300;
const state = { symbols: {}, selected: null, updates: 0, events: 0 };
window.tickcast = state; // for tests and the curious

const $ = (id) => document.getElementById(id);
const fmt = (x, digits = 2) => (x === null || x === undefined ? "–" : Number(x).toFixed(digits));
const pct = (x) => (x === null || x === undefined ? "–" : (100 * x).toFixed(1) + " %");

function series(symbol) {
  if (!state.symbols[symbol]) {
    state.symbols[symbol] = { points: [], latest: null };
    const option = document.createElement("option");
    option.value = option.textContent = symbol;
    $("symbol").appendChild(option);
    if (!state.selected) select(symbol);
  }
  return state.symbols[symbol];
}

function add(symbol, f) {
  const s = series(symbol);
  const last = s.points[s.points.length - 1];
  if (last && last.ts >= Date.parse(f.ts)) return false; // seen (history and stream overlap)
  s.points.push({ ts: Date.parse(f.ts), price: f.price, forecast: f.predicted_price,
                  lower: f.lower, upper: f.upper });
  if (s.points.length > MAX_POINTS) s.points.shift();
  s.latest = f;
  return true;
}

function onForecast(event) {
  const f = JSON.parse(event.data);
  state.events += 1;
  if (add(f.symbol, f)) {
    state.updates += 1;
    schedule();
  }
}

let pending = false;
function schedule() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => { pending = false; draw(); table(); });
}

function draw() {
  const canvas = $("chart");
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const s = state.symbols[state.selected];
  if (!s || s.points.length < 2) return;
  const pts = s.points;
  const values = pts.flatMap((p) => [p.price, p.lower, p.upper]);
  const lo = Math.min(...values), hi = Math.max(...values), pad = 30;
  const x = (i) => pad + (i * (canvas.width - 2 * pad)) / (pts.length); // forecast i sits at i+1
  const y = (v) => canvas.height - pad - ((v - lo) / (hi - lo || 1)) * (canvas.height - 2 * pad);
  ctx.fillStyle = "rgba(31, 111, 235, .2)"; // the interval band, at the tick it forecasts
  ctx.beginPath();
  pts.forEach((p, i) => (i ? ctx.lineTo(x(i + 1), y(p.upper)) : ctx.moveTo(x(i + 1), y(p.upper))));
  for (let i = pts.length - 1; i >= 0; i--) ctx.lineTo(x(i + 1), y(pts[i].lower));
  ctx.closePath();
  ctx.fill();
  line(ctx, pts.map((p, i) => [x(i + 1), y(p.forecast)]), "#1f6feb");
  line(ctx, pts.map((p, i) => [x(i), y(p.price)]), "#1d2330");
  ctx.fillStyle = "#57606a";
  ctx.fillText(fmt(hi), 2, pad);
  ctx.fillText(fmt(lo), 2, canvas.height - pad);
}

function line(ctx, xy, color) {
  ctx.strokeStyle = color;
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  xy.forEach(([px, py], i) => (i ? ctx.lineTo(px, py) : ctx.moveTo(px, py)));
  ctx.stroke();
}

function table() {
  // Cells from text nodes only: what the API sends is never parsed as HTML.
  const rows = Object.keys(state.symbols).sort().map((symbol) => {
    const f = state.symbols[symbol].latest;
    const row = document.createElement("tr");
    for (const text of [symbol, String(f.ts).replace("T", " ").slice(0, 19), fmt(f.price),
      fmt(f.predicted_price), `${fmt(f.lower)} – ${fmt(f.upper)}`, pct(f.p_up), f.model]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    return row;
  });
  $("latest").querySelector("tbody").replaceChildren(...rows);
}

async function quality() {
  if (!state.selected) return;
  try {
    const answer = await fetch(`/symbols/${encodeURIComponent(state.selected)}/quality`);
    if (!answer.ok) return;
    const q = await answer.json();
    const served = q.models.served || {};
    $("selected").textContent = q.selected || "–";
    $("mae-ratio").textContent = fmt(served.mae_ratio, 4);
    $("hit-rate").textContent = pct(served.hit_rate);
    $("coverage").textContent = pct(served.coverage);
  } catch (err) { /* the next poll tries again */ }
}

async function select(symbol) {
  state.selected = symbol;
  $("symbol").value = symbol;
  try { // seed the chart from ClickHouse when the server has history
    const answer = await fetch(`/forecasts/${encodeURIComponent(symbol)}/history?limit=${MAX_POINTS}`);
    if (answer.ok) {
      const history = (await answer.json()).reverse();
      const s = state.symbols[symbol];
      const newer = s.points;
      s.points = [];
      history.forEach((f) => add(symbol, f));
      newer.forEach((p) => { if (!s.points.length || p.ts > s.points[s.points.length - 1].ts) s.points.push(p); });
    }
  } catch (err) { /* the stream still fills the chart */ }
  draw();
  quality();
}

$("symbol").addEventListener("change", (e) => select(e.target.value));
setInterval(quality, 5000);

const source = new EventSource("/stream"); // reconnects by itself after a server restart
source.addEventListener("forecast", onForecast);
source.onopen = () => { $("status").textContent = "live"; $("status").className = "status live"; };
source.onerror = () => { $("status").textContent = "reconnecting…"; $("status").className = "status down"; };
