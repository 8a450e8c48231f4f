"""Keyboard control of the lessons and the "?" overlay that documents it.

The lecture bar (app/lecture.py, `LectureBar`: plain Bokeh models, no CDN) carries the "?"
button and the overlay (`KEYS_HTML`) and, when the page is ready, runs `keyboard_js(...)`:
a `keydown` listener on the document. Keys that mean "press this button" press the visible
button of the open lesson, so the keyboard does exactly what the mouse does (Play in lesson 2
runs in the browser); 1–4 set the active tab; everything else, and lessons without such a
button, goes to the server as the bar's `command` ("back 7", "forward 8", ...; the counter
makes every press a change). Keys typed into text fields, selects and sliders are left alone,
except Space on lesson 2's history slider (class `downhill-history`), which steps forward
there too (its arrow keys move it already: noUiSlider's own keyboard support).
"""

import html
import json

KEYS = (
    ("Space", "one step (lesson 1: one more iteration)"),
    ("P", "play / pause"),
    ("R", "reset to the start"),
    ("← / →", "one step back / forward through the history"),
    ("1 – 4", "open lesson 1 – 4"),
    ("?", "show / hide this help"),
    ("Esc", "close this help"),
)
"""The keyboard map, as the overlay shows it (also in README.md)."""

# Which button a key presses in each lesson (by tab title and visible label); a lesson
# without that button gets the key as a server command instead.
BUTTONS = {
    "Gradient descent": {"step": ["Step downhill"], "play": ["Play", "Pause"],
                         "reset": ["Reset"]},
    "Backpropagation": {"step": ["Step"]},
    "Stochastic & adaptive": {"step": ["Step"], "play": ["Play", "Pause"], "reset": ["Reset"]},
}

OVERLAY_ROWS = "".join(
    f"<tr><th scope='row'><kbd>{html.escape(key)}</kbd></th><td>{html.escape(what)}</td></tr>"
    for key, what in KEYS
)

KEYBOARD_CSS = """
.keys-button { font: inherit; font-size: 15px; min-width: 34px; height: 32px; border-radius: 16px;
  border: 1px solid #57606a; background: #ffffff; color: #1f2328; cursor: pointer; }
.keys-button:focus-visible { outline: 3px solid #0969da; outline-offset: 2px; }
.keys-overlay { position: fixed; inset: 0; background: rgba(20, 20, 30, 0.55); z-index: 1000;
  display: flex; align-items: center; justify-content: center; }
.keys-overlay[hidden] { display: none; }
.keys-panel { background: #ffffff; color: #1f2328; border-radius: 10px; padding: 22px 30px;
  max-width: 560px; font-size: 18px; box-shadow: 0 10px 40px rgba(0,0,0,0.35); }
.keys-panel h2 { margin: 0 0 12px 0; font-size: 22px; }
.keys-panel table { border-collapse: collapse; }
.keys-panel th { text-align: left; padding: 6px 18px 6px 0; white-space: nowrap; }
.keys-panel td { padding: 6px 0; }
.keys-panel kbd { font-family: ui-monospace, 'SFMono-Regular', Menlo, monospace;
  border: 1px solid #57606a; border-bottom-width: 2px; border-radius: 4px; padding: 1px 7px;
  background: #f6f8fa; }
.keys-panel p { margin: 12px 0 0 0; font-size: 15px; color: #57606a; }
"""

KEYS_HTML = f"""
<div class="keys">
  <button class="keys-button" data-downhill="keys" type="button"
          title="Keyboard shortcuts (?)" aria-label="Keyboard shortcuts"
          aria-haspopup="dialog">?</button>
  <div class="keys-overlay" hidden role="dialog" aria-modal="true"
       aria-label="Keyboard shortcuts">
    <div class="keys-panel">
      <h2>Keyboard</h2>
      <table>{OVERLAY_ROWS}</table>
      <p>Keys act on the open lesson. They are ignored while you type in a field.</p>
      <p><button class="keys-button keys-close" data-downhill="keys"
          type="button">Close</button></p>
    </div>
  </div>
</div>
"""
"""The "?" button and the overlay (a dialog named "Keyboard shortcuts"), in the lecture bar."""


def keyboard_js(tab_titles):
    """The keydown handler the lecture bar installs when the page is ready (see the module's
    docstring). It runs after app/lecture.py's BAR_JS (`state`: the bar's data model, `find`,
    `show_help`) with the tab titles for the keys 1, 2, 3, ... and BUTTONS written in."""
    return f"""
const tab_titles = {json.dumps(list(tab_titles))};
const buttons_by_tab = {json.dumps(BUTTONS)};
let presses = 0;
function send(action) {{
  presses += 1;
  state.command = action + ' ' + presses;
}}
{KEYBOARD_FUNCTIONS_JS}
"""


KEYBOARD_FUNCTIONS_JS = """
function shown(v) {
  return v != null && v.el != null && v.el.isConnected && v.el.getClientRects().length > 0;
}
function visible_button(labels) {
  for (const m of state.document._all_models.values()) {
    if (typeof m.label !== 'string' || !labels.includes(m.label)) continue;
    const v = window.Bokeh && Bokeh.index.find_one(m);
    if (v != null && typeof v.click === 'function' && shown(v) && !m.disabled) return v;
  }
  return null;
}
function tabs_model() {
  for (const m of state.document._all_models.values()) {
    if (Array.isArray(m.tabs) && typeof m.active === 'number') return m;
  }
  return null;
}
function active_title() {
  const tabs = tabs_model();
  if (tabs == null || tabs.active < 0 || tabs.active >= tabs.tabs.length) return null;
  return tabs.tabs[tabs.active].title;
}
function press(action) {
  const labels = (buttons_by_tab[active_title()] || {})[action];
  const view = labels ? visible_button(labels) : null;
  if (view != null) view.click(); else send(action);
}
function open_tab(n) {
  const tabs = tabs_model();
  const title = tab_titles[n - 1];
  if (tabs == null || title == null) return;
  const index = tabs.tabs.findIndex(t => t.title === title);
  if (index >= 0) tabs.active = index;
}
function typing(e) {
  const t = e.composedPath()[0];
  if (t == null || t.nodeType !== 1) return false;
  if (t.isContentEditable) return true;
  if (/^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName)) return true;
  const role = t.getAttribute('role');
  if (role === 'slider' || role === 'combobox' || role === 'textbox' || role === 'listbox')
    return true;
  return false;
}
function help_open() {
  const overlay = find('.keys-overlay');
  return overlay != null && !overlay.hidden;
}
function on_history(e) {
  // lesson 2's history slider (class downhill-history on its host): its handle takes the
  // arrow keys itself (noUiSlider), and Space steps forward as everywhere else
  return e.composedPath().some(n => n.classList != null &&
                                    n.classList.contains('downhill-history'));
}
if (window.downhill_keydown) document.removeEventListener('keydown', window.downhill_keydown);
window.downhill_keydown = (e) => {
  if (!e.defaultPrevented && (e.key === ' ' || e.key === 'Spacebar') && !help_open() &&
      !(e.ctrlKey || e.metaKey || e.altKey) && on_history(e)) {
    press('step');
    e.preventDefault();
    return;
  }
  if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typing(e)) return;
  const target = e.composedPath()[0];
  const on_button = target != null && target.tagName === 'BUTTON';
  const key = e.key;
  if (key === 'Escape') { if (help_open()) { show_help(false); e.preventDefault(); } return; }
  if (key === '?') { show_help(!help_open()); e.preventDefault(); return; }
  if (help_open()) return;
  if (key === ' ' || key === 'Spacebar') {
    if (on_button) return;  // a focused button presses itself
    press('step');
  } else if (key === 'p' || key === 'P') {
    press('play');
  } else if (key === 'r' || key === 'R') {
    press('reset');
  } else if (key === 'ArrowLeft' || key === 'ArrowRight') {
    const playing = visible_button(['Pause']);
    if (playing != null) playing.click();  // stop the animation where it is
    send(key === 'ArrowLeft' ? 'back' : 'forward');
  } else if (key >= '1' && key <= '9' && key.length === 1) {
    open_tab(Number(key));
  } else {
    return;
  }
  e.preventDefault();
};
document.addEventListener('keydown', window.downhill_keydown);
"""
