"""Lesson 4's browser side: the JavaScript of Step, Play and Reset (CustomJS code strings).

`JS_HELPERS` reveals step k of the three precomputed runs as the server's `_draw` does;
`PLAY_JS`, `STEP_JS`, `RESET_JS` are the buttons' code, `RUNNING_JS` follows the server's
`playing`, `LABEL_JS` mirrors Play's label.
"""

from app.descent_js import FMT_JS

STEP_MS = 120  # Play shows one step every 120 ms (in the browser)

# The browser side of Step, Play and Reset. `traj` holds the three whole runs (columns x_<key>,
# y_<key>, loss_<key>, the followed batch's indices batch_<key>, η per step) and, in its tags,
# each path's label and divergence. reveal(k) draws step k exactly as the server's _draw does,
# with sync: false, so nothing travels to the server while Play runs. Only the start
# (`running`, the hidden "Playing" box) and the stop (`running`, then `shown`, the hidden step
# input) are sent. A stop the server asks for (its `playing` set to False) reports nothing:
# the server's step wins and is shown.
SIGNED_JS = """
function signed(v, digits) {
  return (v + 0).toFixed(digits).replace('-', '\\u2212');
}
"""

JS_HELPERS = """
const st = traj._downhill || (traj._downhill = {playing: false, k: 0, raf: null});
""" + FMT_JS + SIGNED_JS + """
function last() { return traj.data.step.length - 1; }
function followed() {
  const title = follow.labels[follow.active];
  return traj.tags[0].paths.find(p => p.title === title) || traj.tags[0].paths[0];
}
function reveal(k) {
  const d = traj.data, info = traj.tags[0];
  const parts = [];
  let line_point = null;
  const chosen = followed();
  for (let r = 0; r < info.paths.length; r++) {
    const p = info.paths[r];
    const end = p.diverged_at >= 0 ? Math.min(k + 1, p.diverged_at) : k + 1;
    const xs = Array.from(d['x_' + p.key].slice(0, end));
    const ys = Array.from(d['y_' + p.key].slice(0, end));
    paths[r].setv({data: {x: xs, y: ys}}, {sync: false});
    losses[r].setv({data: {step: Array.from(d.step.slice(0, end)),
                           loss: Array.from(d['loss_' + p.key].slice(0, end))}}, {sync: false});
    nows[r].setv({data: {x: xs.slice(-1), y: ys.slice(-1)}}, {sync: false});
    if (p.key === chosen.key) line_point = [xs[end - 1], ys[end - 1]];
    if (p.diverged_at >= 0 && p.diverged_at <= k) {
      parts.push(p.label + ': <b>diverged at step ' + p.diverged_at + '</b>');
    } else {
      parts.push(p.label + ': m = ' + signed(xs[end - 1], 3) + ', b = ' +
                 signed(ys[end - 1], 3) + ', L = ' + signed(d['loss_' + p.key][k], 4));
    }
  }
  const ends = info.line_x;
  line.setv({data: {x: ends.slice(), y: ends.map(x => line_point[0] * x + line_point[1])}},
            {sync: false});
  const now = Math.min(k, last() - 1);
  const all = data.data;
  const n = all.x.length;
  const column = d['batch_' + chosen.key];
  const indices = column == null ? Array.from({length: n}, (_, i) => i) : Array.from(column[now]);
  const in_batch = new Array(n).fill(false);
  for (const i of indices) in_batch[i] = true;
  data.setv({data: {x: all.x, y: all.y, in_batch: in_batch}}, {sync: false});
  batch.setv({data: {x: indices.map(i => all.x[i]), y: indices.map(i => all.y[i])}},
             {sync: false});
  const lr = d.lr[k];
  schedule_now.setv({data: {step: [now], lr: [lr]}}, {sync: false});
  arrows(k, chosen);
  show_status("<div class='minibatch-status'><b>Step " + k + " of " + last() + "</b> (\\u03b7 = " +
              fmt(lr) + ") \\u00b7 " + parts.join(' \\u00b7 ') + "</div>");
}
function show_status(html, div) {
  // Into the Div's element: changing the model's text would re-lay-out the page each frame.
  div = div || status;
  const view = window.Bokeh && Bokeh.index.find_one(div);
  if (view != null && view.markup_el != null) {
    view.markup_el.innerHTML = html;
  } else {
    div.setv({text: html}, {sync: false});
  }
}
function arrow_data(x0, y0, x1, y1) {
  // as app/inspector.step_arrow_data: nothing when an end is not finite or the ends coincide
  if ([x0, y0, x1, y1].every(Number.isFinite) && (x0 !== x1 || y0 !== y1)) {
    return {x0: [x0], y0: [y0], x1: [x1], y1: [y1]};
  }
  return {x0: [], y0: [], x1: [], y1: []};
}
function arrows(k, chosen) {
  // The inspector's arrows at step k of the followed path, as the server's _draw_inspector
  // draws them; the −∇L tips are in the trajectory only while the inspector is shown.
  const d = traj.data, ax = d['ax_' + chosen.key], ay = d['ay_' + chosen.key];
  if (ax == null) return;
  const xs = d['x_' + chosen.key], ys = d['y_' + chosen.key];
  const next = k < last() ? [xs[k + 1], ys[k + 1]] : [NaN, NaN];
  step_arrow.setv({data: arrow_data(xs[k], ys[k], next[0], next[1])}, {sync: false});
  gradient_arrow.setv({data: arrow_data(xs[k], ys[k], ax[k], ay[k])}, {sync: false});
  // The table and the sentence are the server's, for the step it has: they follow when Play
  // stops (the step reached is sent then), never per frame.
  show_status(k === shown.value ? narration.text : "<div class='minibatch-status'>Step " + k +
              ': the sentence and the table follow when Play stops.</div>', narration);
}
function label() {
  const want = st.playing ? 'Pause' : 'Play';
  if (play.label !== want) play.setv({label: want}, {sync: false});
}
function start() {
  st.k = Math.min(shown.value, last());
  if (st.k >= last()) { st.k = 0; reveal(0); }  // from the end, Play starts over
  st.playing = true;
  label();
  if (!running.active) running.active = true;
  const t0 = performance.now(), k0 = st.k, runs = traj.data, path = follow.active;
  function frame(now) {
    if (!st.playing) return;
    // New runs (a setting changed) or another followed path: stop where Play is and report
    // the step; the server draws it with the new settings.
    if (traj.data !== runs || follow.active !== path) { stop(true); return; }
    // A frame's timestamp is when the frame began, which can precede t0: never step back.
    const k = Math.min(last(), k0 + Math.max(0, Math.floor((now - t0) / STEP_MS)));
    if (k !== st.k) { st.k = k; reveal(k); }
    if (k >= last()) { stop(true); return; }
    st.raf = requestAnimationFrame(frame);
  }
  st.raf = requestAnimationFrame(frame);
}
function stop(report) {
  const was = st.playing;
  st.playing = false;
  if (st.raf != null) cancelAnimationFrame(st.raf);
  st.raf = null;
  label();
  if (!was) return;
  if (running.active) running.active = false;  // first "stopped", then where
  if (report) shown.value = st.k;
}
""".replace("STEP_MS", str(STEP_MS))

PLAY_JS = JS_HELPERS + "if (st.playing) stop(true); else start();"
# Step and Reset stop a running animation where it is, then move `shown`.
STEP_JS = JS_HELPERS + "stop(true); shown.value = Math.min(shown.value + 1, last());"
RESET_JS = JS_HELPERS + "stop(true); reveal(0); shown.value = 0;"
# The server started or stopped Play (lecture keys, links, a tap on the map).
RUNNING_JS = JS_HELPERS + """
if (running.active && !st.playing) start();
else if (!running.active && st.playing) { stop(false); reveal(Math.min(shown.value, last())); }
"""
# The server mirrors Play's label from `playing`; the browser's own state decides it.
LABEL_JS = JS_HELPERS + "label();"
